// What the lmdb engine has applied in memory but not yet written back to lmdb: the keys
// changed since the last write-back (their values are read from memory when written, so a
// key changed a thousand times is written once), whether the members changed, and for each
// changed list which of its stored elements are still as stored.
//
// A list's elements are stored under sequence numbers (lmdb-layout.ts). Commands only push
// and pop at the ends, so the elements lmdb holds that are still in memory unchanged form
// one run [lo, hi) of sequence numbers: a pop at the left raises lo, a pop at the right
// lowers hi, a push adds outside the run. A write-back removes the stored elements outside
// the run and writes the memory's elements outside it: a push to a list of a million
// elements writes one element, not a million.
import type { Deque } from "./deque.js";
import {
  elementKey,
  encodeHeader,
  type KvWrites,
  LIST_PREFIX,
  type ListHeader,
  STRING_PREFIX,
  storedKey,
} from "./lmdb-layout.js";
import {
  KEY_START,
  type KvMap,
  type MemKeySpace,
  NUMBER_KEY_BYTES,
  numberKey,
  type StateChanges,
} from "./mem-keyspace.js";

/** A changed list: its head's sequence number in memory, and the run still as stored. */
interface ChangedList {
  head: number;
  lo: number;
  hi: number;
}

export class WriteBack implements StateChanges {
  /** Changed keys of up to NUMBER_KEY_BYTES bytes, by length, as little-endian numbers. */
  private short: Set<number>[] = newShortSets();
  /** Changed longer keys, latin1. */
  private long = new Set<string>();
  private lists = new Map<string, ChangedList>();
  private members = false;
  /**
   * Changed strings taken out of the sets above to be written, in the order written: short
   * keys as key * 8 + length, longer ones latin1; `*At` is how many are written. Taking a
   * whole set at once keeps slicing linear (a Set's iteration after deletes at its front
   * walks over their holes again).
   */
  private takenShort: number[] = [];
  private takenLong: string[] = [];
  private shortAt = 0;
  private longAt = 0;
  /** A short key's stored form, rebuilt for each key written (the writes copy it)... */
  private readonly scratchKey = new Uint8Array(NUMBER_KEY_BYTES + 1).fill(STRING_PREFIX);
  /** ...and its views by key length, made once. */
  private readonly scratchKeys = Array.from({ length: NUMBER_KEY_BYTES + 1 }, (_, len) =>
    this.scratchKey.subarray(0, len + 1),
  );

  /**
   * @param stored the header of every list lmdb holds (or will, once the write-backs queued
   *   so far commit), by latin1 key; kept up to date by finish().
   */
  constructor(private stored: Map<string, ListHeader>) {}

  /** Changed keys so far (a key changed twice counts once). */
  get size(): number {
    return this.stringsPending + this.lists.size;
  }

  // --- StateChanges

  proposalPut(d: Uint8Array, keyLen: number): void {
    if (keyLen <= NUMBER_KEY_BYTES) this.short[keyLen]!.add(numberKey(d, KEY_START, keyLen));
    else this.long.add(latin1(d.subarray(KEY_START, KEY_START + keyLen)));
  }

  stringChanged(key: Uint8Array): void {
    if (key.length <= NUMBER_KEY_BYTES) this.short[key.length]!.add(numberKey(key, 0, key.length));
    else this.long.add(latin1(key));
  }

  listRemoved(key: string): void {
    // Nothing stored survives; a list made at this key later starts at sequence 0.
    const c = this.changed(key);
    c.head = 0;
    c.lo = 0;
    c.hi = 0;
  }

  listPushed(key: string, count: number, end: "left" | "right"): void {
    const c = this.changed(key);
    if (end === "left") c.head -= count;
  }

  listPopped(key: string, end: "left" | "right", lengthAfter: number): void {
    const c = this.changed(key);
    if (end === "left") {
      c.head++;
      c.lo = Math.max(c.lo, c.head);
    } else {
      c.hi = Math.min(c.hi, c.head + lengthAfter);
    }
  }

  membersChanged(): void {
    this.members = true;
  }

  private changed(key: string): ChangedList {
    let c = this.lists.get(key);
    if (c === undefined) {
      const s = this.stored.get(key);
      c =
        s === undefined
          ? { head: 0, lo: 0, hi: 0 }
          : { head: s.head, lo: s.head, hi: s.head + s.length };
      this.lists.set(key, c);
    }
    return c;
  }

  // --- writing back

  /** Changed strings not yet written (lists and members are written by finish()). */
  get stringsPending(): number {
    let n = this.long.size + this.takenShort.length - this.shortAt;
    n += this.takenLong.length - this.longAt;
    for (const s of this.short) n += s.size;
    return n;
  }

  /** Moves the changed strings to the taken lists (which are written out). */
  private take(): void {
    const short: number[] = [];
    this.short.forEach((keys, len) => {
      for (const k of keys) short.push(k * 8 + len);
    });
    this.takenShort = short;
    this.takenLong = [...this.long];
    this.shortAt = 0;
    this.longAt = 0;
    this.short = newShortSets();
    this.long = new Set();
  }

  /**
   * Writes to `out` the current value (or removal) of up to `limit` changed strings and
   * forgets that they changed; how many it wrote. A string changed again later is changed
   * again: a write-back taken in slices over several turns ends with every value current.
   */
  writeStrings(out: KvWrites, strings: KvMap, limit: number): number {
    let n = 0;
    while (n < limit) {
      if (this.shortAt === this.takenShort.length && this.longAt === this.takenLong.length) {
        if (this.stringsPending === 0) break;
        this.take();
      }
      while (n < limit && this.shortAt < this.takenShort.length) {
        const taken = this.takenShort[this.shortAt++]!;
        const len = taken % 8;
        const k = (taken - len) / 8;
        const stored = this.numberedKey(len, k);
        const v = strings.getNumbered(len, k);
        if (v === null) out.remove(stored);
        else out.put(stored, v);
        n++;
      }
      while (n < limit && this.longAt < this.takenLong.length) {
        const k = Buffer.from(this.takenLong[this.longAt++]!, "latin1");
        const v = strings.get(k);
        if (v === null) out.remove(storedKey(STRING_PREFIX, k));
        else out.put(storedKey(STRING_PREFIX, k), v);
        n++;
      }
    }
    return n;
  }

  /** The stored form of the short key `k` of `len` bytes, in a scratch buffer (writes copy it). */
  private numberedKey(len: number, k: number): Uint8Array {
    const key = this.scratchKey;
    // The prefix, then the key's bytes (little-endian in k).
    let rest = k;
    for (let p = 1; p <= len; p++) {
      key[p] = rest % 256;
      rest = Math.floor(rest / 256);
    }
    return this.scratchKeys[len]!;
  }

  /**
   * A rewrite (every string written, lmdb's copy replaced): forgets which strings changed so
   * far, since all are about to be written; those changed from now on are written again.
   */
  forgetStrings(): void {
    this.short = newShortSets();
    this.long = new Set();
    this.takenShort = [];
    this.takenLong = [];
    this.shortAt = 0;
    this.longAt = 0;
  }

  /**
   * Writes to `out` up to `limit` strings from `from` (KvMap.numbered()); whether `from`
   * is used up.
   */
  writeNumbered(
    out: KvWrites,
    from: Iterator<[len: number, n: number, d: Uint8Array]>,
    limit: number,
  ): boolean {
    for (let i = 0; i < limit; i++) {
      const r = from.next();
      if (r.done === true) return true;
      const [len, k, d] = r.value;
      const at = KEY_START + len;
      out.put(
        this.numberedKey(len, k),
        new Uint8Array(d.buffer, d.byteOffset + at, d.byteLength - at),
      );
    }
    return false;
  }

  /** Whether a list changed, or lmdb holds one: a rewrite covers strings only. */
  get listsInvolved(): boolean {
    return this.lists.size > 0 || this.stored.size > 0;
  }

  /**
   * Writes to `out` everything still changed (the strings left, every changed list) and
   * starts over with nothing changed. Whether the members changed is reported, for the
   * caller to write them.
   */
  finish(out: KvWrites, space: MemKeySpace): { membersChanged: boolean } {
    this.writeStrings(out, space.strings, Number.POSITIVE_INFINITY);
    for (const [s, c] of this.lists) this.queueList(out, s, c, space.lists.get(s));
    const membersChanged = this.members;
    this.lists = new Map();
    this.members = false;
    return { membersChanged };
  }

  private queueList(
    kv: KvWrites,
    s: string,
    c: ChangedList,
    list: Deque<Uint8Array> | undefined,
  ): void {
    const key = Buffer.from(s, "latin1");
    const stored = this.stored.get(s);
    const kept = (seq: number) => stored !== undefined && seq >= c.lo && seq < c.hi;
    if (stored !== undefined) {
      // Removals first: a kept run that went empty may leave sequence numbers to reuse.
      for (let seq = stored.head; seq < stored.head + stored.length; seq++) {
        if (!kept(seq)) kv.remove(elementKey(key, seq));
      }
    }
    const header = storedKey(LIST_PREFIX, key);
    if (list === undefined || list.length === 0) {
      if (stored !== undefined) kv.remove(header);
      this.stored.delete(s);
      return;
    }
    for (let i = 0; i < list.length; i++) {
      const seq = c.head + i;
      if (!kept(seq)) kv.put(elementKey(key, seq), list.at(i)!);
    }
    const h = { head: c.head, length: list.length };
    kv.put(header, encodeHeader(h));
    this.stored.set(s, h);
  }

  /** Forgets every change: the whole space was just stored (`stored`: its lists). */
  reset(stored: Map<string, ListHeader>): void {
    this.stored = stored;
    this.forgetStrings();
    this.lists = new Map();
    this.members = false;
  }
}

function newShortSets(): Set<number>[] {
  return Array.from({ length: NUMBER_KEY_BYTES + 1 }, () => new Set<number>());
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}
