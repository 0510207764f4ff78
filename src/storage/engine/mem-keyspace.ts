// The applied key space in memory: strings in a KvMap, lists in Deques, behind the KvStore
// interface the commands are written against. Both engines keep their state in it: the mem
// engine alone, the lmdb engine as the state it serves, writing it back to lmdb in the
// background (lmdb-engine.ts). An observer (StateChanges) hears every change, so the lmdb
// engine knows what to write back without comparing anything.
import { encodeProposal, PROPOSAL_VERSION } from "../../proposal/proposal.js";
import { Deque } from "./deque.js";
import type { KeyType, KvStore } from "./kv-apply.js";

/** Keys as latin1 strings: one char per byte, so any byte string maps to a distinct key. */
export function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}

// The proposal layout (src/proposal/proposal.ts): version, 8-byte id, varint key length, key,
// value. Keys up to 127 bytes have a one-byte length, so the key starts at a fixed offset.
export const KEY_START = 10;
/** Keys up to this many bytes are kept under a number: no string, no value view per put. */
export const NUMBER_KEY_BYTES = 4;

/**
 * The key length of a well-formed proposal with a one-byte key length and a safe-integer id
 * (what decodeProposal accepts), or -1 when the shared decoder must look at it.
 */
export function proposalKeyLength(d: Uint8Array): number {
  if (d.length < KEY_START || d[0] !== PROPOSAL_VERSION || d[8] !== 0 || d[7]! >= 0x20) return -1;
  const keyLen = d[9]!;
  if (keyLen >= 0x80 || KEY_START + keyLen > d.length) return -1;
  return keyLen;
}

/** The little-endian number of `len` <= 4 bytes at `start`: distinct per byte string of one length. */
export function numberKey(d: Uint8Array, start: number, len: number): number {
  let n = 0;
  for (let i = len - 1; i >= 0; i--) n = n * 256 + d[start + i]!;
  return n;
}

/**
 * Told of every change to a MemKeySpace (and of member changes by the engine's apply), in
 * the order they happen. List keys are latin1 strings (keyString).
 */
export interface StateChanges {
  /** The string at the key of proposal `d` (keyLen bytes at KEY_START) was set. */
  proposalPut(d: Uint8Array, keyLen: number): void;
  /** The string at `key` was set or removed. */
  stringChanged(key: Uint8Array): void;
  /** The list at `key` is gone (deleted, replaced by a string, or popped empty). */
  listRemoved(key: string): void;
  /** `count` elements were pushed at `end` of the list at `key` (created if absent). */
  listPushed(key: string, count: number, end: "left" | "right"): void;
  /** One element was popped at `end`; `lengthAfter` elements remain. */
  listPopped(key: string, end: "left" | "right", lengthAfter: number): void;
  /** The member metadata changed. */
  membersChanged(): void;
}

/**
 * The applied strings. Benchmark keys are a few bytes: those live in one Map per key
 * length, keyed by the key's bytes as a number, and hold the whole proposal (the value is its
 * tail), so a put allocates nothing. Longer keys are latin1 strings (one char per byte, so
 * distinct byte strings stay distinct) holding value views.
 */
export class KvMap {
  /** By key length 0..NUMBER_KEY_BYTES: proposal bytes, value from KEY_START + length on. */
  private readonly short: Map<number, Uint8Array>[] = Array.from(
    { length: NUMBER_KEY_BYTES + 1 },
    () => new Map(),
  );
  private readonly long = new Map<string, Uint8Array>();

  /** Puts the proposal `d` whose key is `keyLen` bytes at KEY_START. */
  putProposal(d: Uint8Array, keyLen: number): void {
    if (keyLen <= NUMBER_KEY_BYTES) {
      this.short[keyLen]!.set(numberKey(d, KEY_START, keyLen), d);
    } else {
      this.long.set(
        keyString(d.subarray(KEY_START, KEY_START + keyLen)),
        d.subarray(KEY_START + keyLen),
      );
    }
  }

  /** Puts `value` itself (it is never modified later: a view into an applied entry). */
  putView(key: Uint8Array, value: Uint8Array): void {
    if (key.length <= NUMBER_KEY_BYTES) this.putCopy(key, value);
    else this.long.set(keyString(key), value);
  }

  get(key: Uint8Array): Uint8Array | null {
    if (key.length <= NUMBER_KEY_BYTES) {
      const d = this.short[key.length]!.get(numberKey(key, 0, key.length));
      return d === undefined ? null : d.subarray(KEY_START + key.length);
    }
    return this.long.get(keyString(key)) ?? null;
  }

  /**
   * The value of the key of `len` <= NUMBER_KEY_BYTES bytes whose numberKey is `n`, as a
   * plain Uint8Array view (a Buffer's subarray would construct a Buffer: slower).
   */
  getNumbered(len: number, n: number): Uint8Array | null {
    const d = this.short[len]!.get(n);
    if (d === undefined) return null;
    const at = KEY_START + len;
    return new Uint8Array(d.buffer, d.byteOffset + at, d.byteLength - at);
  }

  has(key: Uint8Array): boolean {
    if (key.length <= NUMBER_KEY_BYTES) {
      return this.short[key.length]!.has(numberKey(key, 0, key.length));
    }
    return this.long.has(keyString(key));
  }

  delete(key: Uint8Array): boolean {
    if (key.length <= NUMBER_KEY_BYTES) {
      return this.short[key.length]!.delete(numberKey(key, 0, key.length));
    }
    return this.long.delete(keyString(key));
  }

  get size(): number {
    let n = this.long.size;
    for (const map of this.short) n += map.size;
    return n;
  }

  /** Keys longer than NUMBER_KEY_BYTES. */
  get longSize(): number {
    return this.long.size;
  }

  /**
   * Every key of up to NUMBER_KEY_BYTES bytes as [length, numberKey, proposal bytes] (the
   * value starts at KEY_START + length). A live iteration: keys added meanwhile may or may
   * not be met, removed ones are not.
   */
  *numbered(): Generator<[len: number, n: number, d: Uint8Array]> {
    for (let len = 0; len <= NUMBER_KEY_BYTES; len++) {
      for (const [n, d] of this.short[len]!) yield [len, n, d];
    }
  }

  /** Puts a copy of `value`: the caller's buffer may be reused. */
  putCopy(key: Uint8Array, value: Uint8Array): void {
    if (key.length <= NUMBER_KEY_BYTES) {
      // Kept in proposal form like every short key; encoding it is the copy.
      this.putProposal(encodeProposal({ id: 0, key, value }), key.length);
    } else {
      this.long.set(keyString(key), Uint8Array.prototype.slice.call(value));
    }
  }

  pairs(): [Uint8Array, Uint8Array][] {
    const out: [Uint8Array, Uint8Array][] = [];
    this.short.forEach((map, len) => {
      for (const d of map.values()) {
        out.push([d.subarray(KEY_START, KEY_START + len), d.subarray(KEY_START + len)]);
      }
    });
    for (const [k, v] of this.long) out.push([Buffer.from(k, "latin1"), v]);
    return out;
  }
}

/** The lists, by latin1 key, beside the strings in a KvMap: one KvStore for the commands. */
export class MemKeySpace implements KvStore {
  readonly strings = new KvMap();
  readonly lists = new Map<string, Deque<Uint8Array>>();
  /** Who hears of changes (set once the space is filled: filling it is no change). */
  changes: StateChanges | undefined;

  typeOf(key: Uint8Array): KeyType {
    if (this.strings.has(key)) return "string";
    return this.lists.size > 0 && this.lists.has(keyString(key)) ? "list" : "none";
  }

  getString(key: Uint8Array): Uint8Array | null {
    return this.strings.get(key);
  }

  setString(key: Uint8Array, value: Uint8Array): void {
    if (this.lists.size > 0) this.removeList(keyString(key));
    this.strings.putView(key, value);
    this.changes?.stringChanged(key);
  }

  /** A plain put (kind 1) in proposal form, beside lists: it replaces a list at its key. */
  putProposal(d: Uint8Array, keyLen: number): void {
    if (this.lists.size > 0) this.removeList(keyString(d.subarray(KEY_START, KEY_START + keyLen)));
    this.strings.putProposal(d, keyLen);
    this.changes?.proposalPut(d, keyLen);
  }

  deleteKey(key: Uint8Array): boolean {
    if (this.strings.delete(key)) {
      this.changes?.stringChanged(key);
      return true;
    }
    return this.lists.size > 0 && this.removeList(keyString(key));
  }

  private removeList(k: string): boolean {
    if (!this.lists.delete(k)) return false;
    this.changes?.listRemoved(k);
    return true;
  }

  listLength(key: Uint8Array): number {
    return this.lists.get(keyString(key))?.length ?? 0;
  }

  listPush(key: Uint8Array, values: readonly Uint8Array[], end: "left" | "right"): number {
    const k = keyString(key);
    let list = this.lists.get(k);
    if (list === undefined) {
      list = new Deque();
      this.lists.set(k, list);
    }
    for (const v of values) {
      if (end === "left") list.pushLeft(v);
      else list.pushRight(v);
    }
    this.changes?.listPushed(k, values.length, end);
    return list.length;
  }

  listPop(key: Uint8Array, end: "left" | "right"): Uint8Array {
    const k = keyString(key);
    const list = this.lists.get(k)!;
    const v = (end === "left" ? list.popLeft() : list.popRight())!;
    this.changes?.listPopped(k, end, list.length);
    if (list.length === 0) this.removeList(k);
    return v;
  }

  /** Every key, strings and lists, unordered. */
  allKeys(): Uint8Array[] {
    const out = this.strings.pairs().map(([k]) => k);
    for (const k of this.lists.keys()) out.push(Buffer.from(k, "latin1"));
    return out;
  }
}
