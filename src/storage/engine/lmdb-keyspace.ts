// The lmdb engine's key space: strings, lists and their elements in one lmdb database, with
// an overlay of the writes lmdb has queued but not yet committed.
//
// Stored keys (one prefix byte each, so the three kinds never collide and lmdb never sees an
// empty key):
//   'k' key        → the string value
//   'l' key        → a list's header: f64 head sequence number | f64 length (little-endian)
//   'e' key seq    → one element; seq is 8 bytes (the element's sequence number + 2^52,
//                    big-endian); the key is everything between the prefix and those 8 bytes
// A list is never empty (its last pop removes the header), so a key is a string, a list or
// absent, and KEYS/DBSIZE count a list once (by its header; elements live under 'e').
//
// The engine's commits are queued, not awaited (lmdb-engine.ts says why), so what lmdb
// returns lags what was applied. Every command write also lands in `overlay` (stored key →
// value, or null for removed) until its commit is visible; reads look there first. Plain
// puts (the benchmark's kind-1 entries) skip the overlay, so they cost what they did; a batch
// with commands waits until earlier plain puts are visible instead (LmdbEngine).
import type { Database } from "lmdb";
import { EngineError } from "../errors.js";
import type { KeyType, KvStore } from "./kv-apply.js";

export const STRING_PREFIX = 0x6b; // 'k'
export const LIST_PREFIX = 0x6c; // 'l'
const ELEMENT_PREFIX = 0x65; // 'e'
const SEQ_BYTES = 8;
const SEQ_OFFSET = 2 ** 52;
const TWO_POW_32 = 0x1_0000_0000;

/** lmdb-js's key size limit (1978 bytes) minus an element key's prefix and sequence number. */
export const MAX_KEY_BYTES = 1978 - 1 - SEQ_BYTES;

export function storedKey(prefix: number, key: Uint8Array): Buffer {
  if (key.byteLength > MAX_KEY_BYTES) {
    throw new RangeError(
      `key of ${key.byteLength} bytes exceeds the lmdb engine's limit of ${MAX_KEY_BYTES}: ` +
        "propose shorter keys",
    );
  }
  const b = Buffer.allocUnsafe(key.byteLength + 1);
  b[0] = prefix;
  b.set(key, 1);
  return b;
}

function elementKey(key: Uint8Array, seq: number): Buffer {
  const b = Buffer.allocUnsafe(1 + key.byteLength + SEQ_BYTES);
  b[0] = ELEMENT_PREFIX;
  b.set(key, 1);
  const n = seq + SEQ_OFFSET;
  const lo = n % TWO_POW_32;
  b.writeUInt32BE((n - lo) / TWO_POW_32, 1 + key.byteLength);
  b.writeUInt32BE(lo, 5 + key.byteLength);
  return b;
}

interface ListHeader {
  head: number;
  length: number;
}

function encodeHeader(h: ListHeader): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeDoubleLE(h.head, 0);
  b.writeDoubleLE(h.length, 8);
  return b;
}

function decodeHeader(b: Uint8Array): ListHeader {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return { head: buf.readDoubleLE(0), length: buf.readDoubleLE(8) };
}

/** The first key after every key starting with `prefix` (undefined: none). */
function prefixEnd(prefix: Uint8Array): Buffer | undefined {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]!++;
      return end.subarray(0, i + 1);
    }
  }
  return undefined;
}

function latin1(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1");
}

/** One queued write: the stored key and its new value (null: removed). */
export type QueuedWrite = [key: Buffer, value: Uint8Array | null];

export class LmdbKeySpace implements KvStore {
  /** Writes queued by commands whose commit is not yet visible, by latin1 stored key. */
  private overlay = new Map<string, { value: Uint8Array | null; batch: number }>();
  /** Writes of the batch being applied, handed to the engine's next commit. */
  private batchWrites: QueuedWrite[] = [];
  private batch = 0;
  /** Lists that exist (a plain put must replace one at its key; none is the common case). */
  listCount: number;

  constructor(private readonly kv: Database<Uint8Array, Buffer>) {
    this.listCount = this.countRange(Buffer.of(LIST_PREFIX));
  }

  // --- raw access through the overlay

  private raw(k: Buffer): Uint8Array | null {
    const o = this.overlay.get(k.toString("latin1"));
    if (o !== undefined) return o.value;
    return this.kv.get(k) ?? null;
  }

  private write(k: Buffer, value: Uint8Array | null): void {
    this.overlay.set(k.toString("latin1"), { value, batch: this.batch });
    this.batchWrites.push([k, value]);
  }

  /** Takes the writes of the batch just applied, with its number for visibleBatch(). */
  takeBatch(): { writes: QueuedWrite[]; batch: number } {
    const out = { writes: this.batchWrites, batch: this.batch };
    this.batchWrites = [];
    this.batch++;
    return out;
  }

  /** The commit holding `writes` is visible in lmdb: their overlay entries go. */
  visible(b: { writes: QueuedWrite[]; batch: number }): void {
    for (const [k] of b.writes) {
      const s = k.toString("latin1");
      if (this.overlay.get(s)?.batch === b.batch) this.overlay.delete(s);
    }
  }

  /** Forgets every queued write (a restore or clear replaced the whole space). */
  reset(listCount: number): void {
    this.overlay = new Map();
    this.batchWrites = [];
    this.listCount = listCount;
  }

  // --- KvStore

  typeOf(key: Uint8Array): KeyType {
    if (this.raw(storedKey(STRING_PREFIX, key)) !== null) return "string";
    if (this.listCount > 0 && this.raw(storedKey(LIST_PREFIX, key)) !== null) return "list";
    return "none";
  }

  getString(key: Uint8Array): Uint8Array | null {
    return this.raw(storedKey(STRING_PREFIX, key));
  }

  setString(key: Uint8Array, value: Uint8Array): void {
    if (this.listCount > 0) this.deleteList(key);
    this.write(storedKey(STRING_PREFIX, key), value);
  }

  deleteKey(key: Uint8Array): boolean {
    const k = storedKey(STRING_PREFIX, key);
    if (this.raw(k) !== null) {
      this.write(k, null);
      return true;
    }
    return this.listCount > 0 && this.deleteList(key);
  }

  private header(key: Uint8Array): ListHeader | null {
    const h = this.raw(storedKey(LIST_PREFIX, key));
    return h === null ? null : decodeHeader(h);
  }

  private deleteList(key: Uint8Array): boolean {
    const h = this.header(key);
    if (h === null) return false;
    for (let i = 0; i < h.length; i++) this.write(elementKey(key, h.head + i), null);
    this.write(storedKey(LIST_PREFIX, key), null);
    this.listCount--;
    return true;
  }

  listLength(key: Uint8Array): number {
    return this.header(key)?.length ?? 0;
  }

  listPush(key: Uint8Array, values: readonly Uint8Array[], end: "left" | "right"): number {
    let h = this.header(key);
    if (h === null) {
      h = { head: 0, length: 0 };
      this.listCount++;
    }
    for (const v of values) {
      if (end === "left") {
        h.head--;
        this.write(elementKey(key, h.head), v);
      } else {
        this.write(elementKey(key, h.head + h.length), v);
      }
      h.length++;
    }
    this.write(storedKey(LIST_PREFIX, key), encodeHeader(h));
    return h.length;
  }

  listPop(key: Uint8Array, end: "left" | "right"): Uint8Array {
    const h = this.header(key)!;
    const seq = end === "left" ? h.head : h.head + h.length - 1;
    const ek = elementKey(key, seq);
    const value = this.raw(ek)!;
    this.write(ek, null);
    h.length--;
    if (end === "left") h.head++;
    if (h.length === 0) {
      this.write(storedKey(LIST_PREFIX, key), null);
      this.listCount--;
    } else {
      this.write(storedKey(LIST_PREFIX, key), encodeHeader(h));
    }
    return value;
  }

  // --- reads for the view

  /** Stored keys starting with `prefix` (lmdb merged with the overlay), unordered. */
  scan(prefix: Buffer, limit = Number.POSITIVE_INFINITY): Map<string, Uint8Array> {
    const p = prefix.toString("latin1");
    const shadowed: [string, Uint8Array | null][] = [];
    for (const [k, o] of this.overlay) if (k.startsWith(p)) shadowed.push([k, o.value]);
    // Every overlay entry can hide at most one of lmdb's: read that many more than wanted.
    const out = new Map<string, Uint8Array>();
    const end = prefixEnd(prefix);
    const range = this.kv.getRange({
      start: prefix,
      ...(end === undefined ? {} : { end }),
      ...(Number.isFinite(limit) ? { limit: limit + shadowed.length } : {}),
    });
    for (const { key, value } of range) out.set(latin1(key), value);
    for (const [k, v] of shadowed) {
      if (v === null) out.delete(k);
      else out.set(k, v);
    }
    return out;
  }

  /** Number of stored keys starting with `prefix`, the overlay counted in. */
  countRange(prefix: Buffer): number {
    const end = prefixEnd(prefix);
    let n = this.kv.getKeysCount({ start: prefix, ...(end === undefined ? {} : { end }) });
    const p = prefix.toString("latin1");
    for (const [k, o] of this.overlay) {
      if (!k.startsWith(p)) continue;
      const inLmdb = this.kv.doesExist(Buffer.from(k, "latin1"));
      n += (o.value !== null ? 1 : 0) - (inLmdb ? 1 : 0);
    }
    return n;
  }

  /** The elements of the list at `key` as lmdb has committed them (a snapshot's read). */
  committedList(key: Uint8Array, header: Uint8Array): Uint8Array[] {
    const h = decodeHeader(header);
    const out: Uint8Array[] = new Array(h.length);
    for (let i = 0; i < h.length; i++) {
      const v = this.kv.get(elementKey(key, h.head + i));
      if (v === undefined) {
        throw new EngineError(
          "apply-failed",
          `list element ${i} of a ${h.length}-element list is missing: the engine is damaged`,
        );
      }
      out[i] = v;
    }
    return out;
  }

  /** The writes that restore `lists` (elements head first) into an emptied space. */
  static listWrites(lists: readonly [Uint8Array, Uint8Array[]][]): QueuedWrite[] {
    const out: QueuedWrite[] = [];
    for (const [key, elements] of lists) {
      elements.forEach((e, i) => {
        out.push([elementKey(key, i), e]);
      });
      out.push([storedKey(LIST_PREFIX, key), encodeHeader({ head: 0, length: elements.length })]);
    }
    return out;
  }
}
