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
import type { Database } from "lmdb";
import type { Deque } from "./deque.js";
import {
  elementKey,
  encodeHeader,
  LIST_PREFIX,
  type ListHeader,
  STRING_PREFIX,
  storedKey,
} from "./lmdb-layout.js";
import {
  KEY_START,
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
   * @param stored the header of every list lmdb holds (or will, once the write-backs queued
   *   so far commit), by latin1 key; kept up to date by queue().
   */
  constructor(private stored: Map<string, ListHeader>) {}

  /** Changed keys so far (a key changed twice counts once). */
  get size(): number {
    let n = this.long.size + this.lists.size;
    for (const s of this.short) n += s.size;
    return n;
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

  /**
   * Queues to `kv`, in this turn, the writes that bring lmdb's copy of every changed key to
   * what `space` holds now, and starts over with nothing changed. Whether the members
   * changed is reported, for the caller to write them.
   */
  queue(kv: Database<Uint8Array, Buffer>, space: MemKeySpace): { membersChanged: boolean } {
    const strings = space.strings;
    // Sorted within each key length and among the longer keys: lmdb's inserts in key order
    // touch each leaf page once, in order.
    this.short.forEach((keys, len) => {
      if (keys.size === 0) return;
      for (const k of sortedStoredShortKeys(keys, len)) {
        const v = strings.get(k.subarray(1));
        if (v === null) kv.remove(k);
        else kv.put(k, v);
      }
    });
    for (const s of [...this.long].sort()) {
      const key = Buffer.from(s, "latin1");
      const k = storedKey(STRING_PREFIX, key);
      const v = strings.get(key);
      if (v === null) kv.remove(k);
      else kv.put(k, v);
    }
    for (const [s, c] of this.lists) this.queueList(kv, s, c, space.lists.get(s));
    const membersChanged = this.members;
    this.short = newShortSets();
    this.long = new Set();
    this.lists = new Map();
    this.members = false;
    return { membersChanged };
  }

  private queueList(
    kv: Database<Uint8Array, Buffer>,
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
    this.short = newShortSets();
    this.long = new Set();
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

/**
 * The stored keys (STRING_PREFIX, then the key) of the keys of `len` bytes behind
 * little-endian numbers, in byte order: byte order of keys of one length is the order of
 * their big-endian numbers, sorted natively in a typed array. Built straight into the stored
 * form: one buffer per key.
 */
function sortedStoredShortKeys(keys: Set<number>, len: number): Buffer[] {
  const be = new Uint32Array(keys.size);
  let i = 0;
  for (const n of keys) be[i++] = reverseBytes(n, len);
  be.sort();
  const out: Buffer[] = new Array(be.length);
  for (let j = 0; j < be.length; j++) {
    const b = Buffer.allocUnsafe(len + 1);
    b[0] = STRING_PREFIX;
    let v = be[j]!;
    for (let p = len; p >= 1; p--) {
      b[p] = v & 0xff;
      v >>>= 8;
    }
    out[j] = b;
  }
  return out;
}

/** The `len`-byte little-endian number `n` read big-endian. */
function reverseBytes(n: number, len: number): number {
  let out = 0;
  for (let p = 0; p < len; p++) {
    out = out * 256 + (n % 256);
    n = Math.floor(n / 256);
  }
  return out;
}
