// Joining encoded batches: batches with one header (epoch and sender) become one batch
// carrying all their messages, so a link that fell behind sends one gRPC message instead
// of many. Works on bytes alone, without decoding the messages.
import { Reader } from "./decode.js";
import { TAG_BATCH_MESSAGES } from "./tags.js";

/** Length of the header (epoch and from) that `BatchEncoder.encode` writes before the messages. */
export function batchHeaderLength(bytes: Uint8Array): number {
  const r = new Reader(bytes, 0, bytes.length);
  while (r.pos < r.end) {
    const start = r.pos;
    const tag = r.uint();
    if (tag === TAG_BATCH_MESSAGES) return start;
    r.skip(tag);
  }
  return bytes.length;
}

/** True when two encoded batches carry the same epoch and sender and so can be joined. */
export function sameBatchHeader(
  a: Uint8Array,
  aHeaderLength: number,
  b: Uint8Array,
  bHeaderLength: number,
): boolean {
  if (aHeaderLength !== bHeaderLength) return false;
  for (let i = 0; i < aHeaderLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Joins encoded batches that share one header into one batch carrying all their messages
 * in order, with one copy of the bytes. The caller checks the headers with
 * `sameBatchHeader`; `headerLength` is that shared header's length.
 */
export function concatBatches(batches: readonly Uint8Array[], headerLength: number): Uint8Array {
  if (batches.length === 1) return batches[0]!;
  let total = headerLength;
  for (let i = 0; i < batches.length; i++) total += batches[i]!.length - headerLength;
  const out = Buffer.allocUnsafe(total);
  out.set(batches[0]!, 0);
  let pos = batches[0]!.length;
  for (let i = 1; i < batches.length; i++) {
    const b = batches[i]!;
    out.set(b.subarray(headerLength), pos);
    pos += b.length - headerLength;
  }
  return out;
}
