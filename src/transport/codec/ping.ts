// Transport-level pings over gRPC: a RaftBatch carrying only field 15 (see tags.ts),
// answered by a BatchAck of the same shape. (The TCP transport has ping frames of its own.)
import { TAG_PING } from "./tags.js";

const PING_BYTES = 9;

/** The bytes of a ping (a RaftBatch) or its pong (a BatchAck): the same 9 bytes. */
export function encodePing(clockMs: number): Uint8Array {
  const out = Buffer.allocUnsafe(PING_BYTES);
  out[0] = TAG_PING;
  out.writeDoubleLE(clockMs, 1);
  return out;
}

/** The clock carried by a ping or pong, or undefined if `bytes` is not one. */
export function readPing(bytes: Uint8Array): number | undefined {
  if (bytes.length !== PING_BYTES || bytes[0] !== TAG_PING) return undefined;
  return new DataView(bytes.buffer, bytes.byteOffset + 1, 8).getFloat64(0, true);
}
