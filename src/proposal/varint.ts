// Little-endian base-128 varints for non-negative safe integers (at most 8 bytes), shared
// by the proposal format and the engine's snapshot format.

/** Bytes a varint takes for a non-negative safe integer. */
export function varintSize(n: number): number {
  let size = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    size++;
  }
  return size;
}

/** Writes `n` at `pos`; returns the position after it. */
export function writeVarint(into: Uint8Array, pos: number, n: number): number {
  while (n >= 0x80) {
    into[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  into[pos++] = n;
  return pos;
}

/** A read position and the last value read, reused across reads to avoid allocations. */
export interface VarintCursor {
  value: number;
  pos: number;
}

/**
 * Reads the varint at `cursor.pos` into `cursor.value` and moves `cursor.pos` past it.
 * Throws a RangeError naming the problem on truncation or overflow.
 */
export function readVarint(from: Uint8Array, cursor: VarintCursor): void {
  let pos = cursor.pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= from.length) throw new RangeError("varint runs past the end");
    const b = from[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (!Number.isSafeInteger(value))
        throw new RangeError("varint exceeds the safe integer range");
      cursor.value = value;
      cursor.pos = pos;
      return;
    }
    scale *= 0x80;
  }
  throw new RangeError("varint longer than 8 bytes");
}
