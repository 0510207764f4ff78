// How the lmdb engine lays the applied key space out in one lmdb database, and how it reads
// it back into memory at open.
//
// Stored keys (one prefix byte each, so the three kinds never collide and lmdb never sees an
// empty key):
//   'k' key        → the string value
//   'l' key        → a list's header: f64 head sequence number | f64 length (little-endian)
//   'e' key seq    → one element; seq is 8 bytes (the element's sequence number + 2^52,
//                    big-endian); the key is everything between the prefix and those 8 bytes
// A list is never empty (its last pop removes the header), so a key is a string, a list or
// absent. Elements are numbered so that a push or pop at either end writes back only the
// elements it touched, not the whole list (write-back.ts).
import type { Database } from "lmdb";
import type { MemberAddresses } from "../../proposal/kv.js";
import { EngineError } from "../errors.js";
import { MemKeySpace } from "./mem-keyspace.js";

/**
 * Where a write-back's writes go: lmdb's write queue, or a chunk for the write-back thread.
 * A key may be reused by the caller once the call returns (lmdb copies keys when queueing
 * them); a value is never modified.
 */
export interface KvWrites {
  put(key: Uint8Array, value: Uint8Array): void;
  remove(key: Uint8Array): void;
}

export const STRING_PREFIX = 0x6b; // 'k'
export const LIST_PREFIX = 0x6c; // 'l'
const ELEMENT_PREFIX = 0x65; // 'e'
const SEQ_BYTES = 8;
const SEQ_OFFSET = 2 ** 52;
const TWO_POW_32 = 0x1_0000_0000;

/** lmdb-js's key size limit (1978 bytes) minus an element key's prefix and sequence number. */
export const MAX_KEY_BYTES = 1978 - 1 - SEQ_BYTES;

/** Throws for a key longer than the engine can store: the service refuses those first. */
export function checkKeyLength(key: Uint8Array): void {
  if (key.byteLength > MAX_KEY_BYTES) {
    throw new RangeError(
      `key of ${key.byteLength} bytes exceeds the lmdb engine's limit of ${MAX_KEY_BYTES}: ` +
        "propose shorter keys",
    );
  }
}

export function storedKey(prefix: number, key: Uint8Array): Buffer {
  checkKeyLength(key);
  const b = Buffer.allocUnsafe(key.byteLength + 1);
  b[0] = prefix;
  b.set(key, 1);
  return b;
}

export function elementKey(key: Uint8Array, seq: number): Buffer {
  const b = Buffer.allocUnsafe(1 + key.byteLength + SEQ_BYTES);
  b[0] = ELEMENT_PREFIX;
  b.set(key, 1);
  const n = seq + SEQ_OFFSET;
  const lo = n % TWO_POW_32;
  b.writeUInt32BE((n - lo) / TWO_POW_32, 1 + key.byteLength);
  b.writeUInt32BE(lo, 5 + key.byteLength);
  return b;
}

/** Where a stored list's elements are: sequence numbers head .. head + length - 1. */
export interface ListHeader {
  head: number;
  length: number;
}

export function encodeHeader(h: ListHeader): Buffer {
  const b = Buffer.allocUnsafe(16);
  b.writeDoubleLE(h.head, 0);
  b.writeDoubleLE(h.length, 8);
  return b;
}

function decodeHeader(b: Uint8Array): ListHeader {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return { head: buf.readDoubleLE(0), length: buf.readDoubleLE(8) };
}

/** lmdb range options covering every stored key with this one-byte prefix. */
function prefixRange(prefix: number): { start: Buffer; end: Buffer } {
  return { start: Buffer.of(prefix), end: Buffer.of(prefix + 1) };
}

/**
 * Everything the database holds, as a key space in memory (copies: lmdb's buffers are its
 * own), with the header of every stored list by latin1 key (the write-back starts from them).
 */
export function loadKeySpace(kv: Database<Uint8Array, Buffer>): {
  space: MemKeySpace;
  lists: Map<string, ListHeader>;
} {
  const space = new MemKeySpace();
  for (const { key, value } of kv.getRange(prefixRange(STRING_PREFIX))) {
    space.strings.putCopy(key.subarray(1), value);
  }
  const lists = new Map<string, ListHeader>();
  for (const { key, value } of kv.getRange(prefixRange(LIST_PREFIX))) {
    const k = key.subarray(1);
    const h = decodeHeader(value);
    const elements: Uint8Array[] = new Array(h.length);
    for (let i = 0; i < h.length; i++) {
      const v = kv.get(elementKey(k, h.head + i));
      if (v === undefined) {
        throw new EngineError(
          "apply-failed",
          `list element ${i} of a ${h.length}-element list is missing: the engine is damaged`,
        );
      }
      elements[i] = Uint8Array.prototype.slice.call(v);
    }
    space.listPush(k, elements, "right");
    lists.set(Buffer.from(k).toString("latin1"), h);
  }
  return { space, lists };
}

/**
 * Writes to `kv` what stores `space` whole into an emptied database (a restore), in this
 * turn; the headers of the lists written, by latin1 key.
 */
export function queueWholeSpace(kv: KvWrites, space: MemKeySpace): Map<string, ListHeader> {
  for (const [k, v] of space.strings.pairs()) kv.put(storedKey(STRING_PREFIX, k), v);
  const headers = new Map<string, ListHeader>();
  for (const [k, list] of space.lists) {
    const key = Buffer.from(k, "latin1");
    const elements = list.toArray();
    elements.forEach((e, i) => {
      kv.put(elementKey(key, i), e);
    });
    const h = { head: 0, length: elements.length };
    kv.put(storedKey(LIST_PREFIX, key), encodeHeader(h));
    headers.set(k, h);
  }
  return headers;
}

export type MemberList = [id: number, addresses: MemberAddresses][];
