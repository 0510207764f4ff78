// Unsigned little-endian base-128 varints (LEB128; protobuf's uint64 varint), the one
// implementation behind both formats that use them: the transport's wire codec
// (src/transport/codec/) and the proposal and snapshot formats (src/proposal/,
// src/storage/engine/kv-snapshot.ts). The bytes written are the same for both; what differs
// is only how long an input the reader accepts (docs/decisions.md, "One varint").
// Values are JavaScript numbers, so every value is a non-negative safe integer (< 2^53,
// at most 8 bytes when written); callers check that before sizing or writing.

/** The longest varint protobuf writes (a full uint64); the wire codec accepts up to this. */
export const WIRE_VARINT_MAX_BYTES = 10;
/** The longest varint of a safe integer; the proposal and snapshot formats accept only this. */
export const SAFE_VARINT_MAX_BYTES = 8;

/** readUvarint's answers that are not a value (every value is >= 0). */
export const VARINT_TRUNCATED = -1;
export const VARINT_TOO_LONG = -2;

/** Bytes the varint of `n` takes; `n` must be a non-negative safe integer. */
export function uvarintSize(n: number): number {
  if (n >>> 0 === n) {
    return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
  }
  // 2^32 <= n < 2^53: five to eight bytes.
  return n < 2 ** 35 ? 5 : n < 2 ** 42 ? 6 : n < 2 ** 49 ? 7 : 8;
}

/** Writes the varint of `n` (a non-negative safe integer) at `pos`; returns the position after it. */
export function putUvarint(buf: Uint8Array, pos: number, n: number): number {
  // Above 31 bits the bit operators would wrap, so those bytes are split off arithmetically.
  while (n > 0x7fffffff) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

/** A read position, moved past each varint read. */
export interface ReadPosition {
  pos: number;
}

/**
 * Reads the varint at `cursor.pos`, looking no further than `end` nor past `maxBytes` bytes.
 * Returns the value and moves the cursor past it, or one of the VARINT_* answers (negative):
 * VARINT_TRUNCATED leaves the cursor where it was, VARINT_TOO_LONG moves it past the bytes
 * read, so an error message can name where reading stopped. A value read may exceed
 * Number.MAX_SAFE_INTEGER (a uint64 on the wire): each caller refuses it with its own error.
 */
export function readUvarint(
  buf: Uint8Array,
  cursor: ReadPosition,
  end: number,
  maxBytes: number,
): number {
  let pos = cursor.pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (pos >= end) return VARINT_TRUNCATED;
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      cursor.pos = pos;
      return value;
    }
    scale *= 0x80;
  }
  cursor.pos = pos;
  return VARINT_TOO_LONG;
}

/** A read position and the last value read, reused across reads to avoid allocations. */
export interface VarintCursor extends ReadPosition {
  value: number;
}

/**
 * Reads a varint of the proposal or snapshot format (at most SAFE_VARINT_MAX_BYTES) at
 * `cursor.pos` into `cursor.value` and moves the cursor past it. Throws a RangeError naming
 * the problem on truncation or overflow.
 */
export function readVarint(from: Uint8Array, cursor: VarintCursor): void {
  const start = cursor.pos;
  const value = readUvarint(from, cursor, from.length, SAFE_VARINT_MAX_BYTES);
  if (value > Number.MAX_SAFE_INTEGER) {
    cursor.pos = start;
    throw new RangeError("varint exceeds the safe integer range");
  }
  if (value >= 0) {
    cursor.value = value;
    return;
  }
  cursor.pos = start;
  throw new RangeError(
    value === VARINT_TRUNCATED ? "varint runs past the end" : "varint longer than 8 bytes",
  );
}
