// The frames of the raw TCP transport. Each frame is
//
//   u32 big-endian length (of what follows) | u8 kind | body
//
// A `batch` body is exactly the RaftBatch bytes the gRPC transport sends (codec/), so both
// transports carry the same bytes. A connection opens with one `hello` from the dialing
// peer naming both ends; `ping` and `pong` carry the pinger's clock and are answered by the
// transport itself (link latency), never seen by Raft.
import { WireFormatError } from "./errors.js";

/** Bytes of the length prefix and the kind byte. */
export const FRAME_HEADER_BYTES = 5;

export const FrameKind = {
  Hello: 1,
  Batch: 2,
  Ping: 3,
  Pong: 4,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const HELLO_MAGIC = 0x52544659; // "RTFY": a rafttoy TCP peer, protocol version 1
const HELLO_BODY_BYTES = 4 + 8 + 8;
const PING_BODY_BYTES = 8;

/** The 5-byte header of a frame whose body is `bodyLength` bytes. */
export function frameHeader(kind: FrameKind, bodyLength: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header.writeUInt32BE(bodyLength + 1, 0);
  header[4] = kind;
  return header;
}

/** A whole frame (header and body) in one buffer, for the small control frames. */
function controlFrame(kind: FrameKind, bodyLength: number): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + bodyLength);
  frame.writeUInt32BE(bodyLength + 1, 0);
  frame[4] = kind;
  return frame;
}

export function helloFrame(from: number, to: number): Buffer {
  const frame = controlFrame(FrameKind.Hello, HELLO_BODY_BYTES);
  frame.writeUInt32BE(HELLO_MAGIC, FRAME_HEADER_BYTES);
  frame.writeDoubleBE(from, FRAME_HEADER_BYTES + 4);
  frame.writeDoubleBE(to, FRAME_HEADER_BYTES + 12);
  return frame;
}

export function readHello(body: Uint8Array): { from: number; to: number } {
  if (body.length !== HELLO_BODY_BYTES)
    throw new WireFormatError("bad-hello", "hello of the wrong length");
  const view = new DataView(body.buffer, body.byteOffset, body.length);
  if (view.getUint32(0) !== HELLO_MAGIC)
    throw new WireFormatError("bad-hello", "not a rafttoy TCP peer");
  const from = view.getFloat64(4);
  const to = view.getFloat64(12);
  if (!Number.isSafeInteger(from) || from <= 0 || !Number.isSafeInteger(to) || to <= 0) {
    throw new WireFormatError("bad-hello", "hello with a peer id that is not a positive integer");
  }
  return { from, to };
}

/** A ping or pong frame carrying `clockMs` (the pinger's performance.now()). */
export function pingFrame(kind: typeof FrameKind.Ping | typeof FrameKind.Pong, clockMs: number) {
  const frame = controlFrame(kind, PING_BODY_BYTES);
  frame.writeDoubleBE(clockMs, FRAME_HEADER_BYTES);
  return frame;
}

export function readPing(body: Uint8Array): number {
  if (body.length !== PING_BODY_BYTES)
    throw new WireFormatError("bad-frame", "ping of the wrong length");
  return new DataView(body.buffer, body.byteOffset, body.length).getFloat64(0);
}

/** A frame body as one buffer, for the control frames that a reader may hand out in pieces. */
export function contiguous(parts: readonly Uint8Array[]): Uint8Array {
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

/** A plain Uint8Array view of `length` bytes of `chunk` from `start`. */
function view(chunk: Uint8Array, start: number, length: number): Uint8Array {
  return new Uint8Array(chunk.buffer, chunk.byteOffset + start, length);
}

/**
 * Cuts a byte stream into frames. A frame's body is handed out as the pieces of the
 * received chunks it lies in, in order: views, never copies (one piece when the frame lies
 * inside one chunk). A large batch arrives in many 64 KiB reads, and joining them cost the
 * receiver a copy of every byte into freshly mapped memory; the decoder reads the pieces
 * where they lie instead. Chunks handed out are never written to again, so decoded entries
 * may keep views of them.
 */
export class FrameReader {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** Pieces of the frame being received across chunks, once its header is complete. */
  private parts: Uint8Array[] | undefined;
  /** Body bytes of that frame still to come. */
  private remaining = 0;
  private kind = 0;

  constructor(
    private readonly maxFrameBytes: number,
    private readonly onFrame: (kind: number, body: readonly Uint8Array[]) => void,
  ) {}

  /** Feeds one chunk; calls onFrame for every frame completed. Throws WireFormatError. */
  push(chunk: Uint8Array): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      if (this.parts === undefined) {
        if (this.headerFill === 0 && n - pos >= FRAME_HEADER_BYTES) {
          const bodyLength = this.bodyLength(chunk, pos);
          const end = pos + FRAME_HEADER_BYTES + bodyLength;
          if (end <= n) {
            // The whole frame is inside this chunk: one view.
            this.onFrame(chunk[pos + 4]!, [view(chunk, pos + FRAME_HEADER_BYTES, bodyLength)]);
            pos = end;
            continue;
          }
          this.startBody(chunk[pos + 4]!, bodyLength);
          pos += FRAME_HEADER_BYTES;
        } else {
          // A header split across chunks.
          const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, n - pos);
          this.header.set(chunk.subarray(pos, pos + take), this.headerFill);
          this.headerFill += take;
          pos += take;
          if (this.headerFill < FRAME_HEADER_BYTES) return;
          this.headerFill = 0;
          this.startBody(this.header[4]!, this.bodyLength(this.header, 0));
          if (this.remaining === 0) {
            this.finish();
            continue;
          }
        }
      }
      const take = Math.min(this.remaining, n - pos);
      this.parts!.push(view(chunk, pos, take));
      this.remaining -= take;
      pos += take;
      if (this.remaining === 0) this.finish();
    }
  }

  private startBody(kind: number, bodyLength: number): void {
    this.kind = kind;
    this.parts = [];
    this.remaining = bodyLength;
  }

  private finish(): void {
    const parts = this.parts!;
    this.parts = undefined;
    this.onFrame(this.kind, parts);
  }

  private bodyLength(bytes: Uint8Array, pos: number): number {
    const length =
      ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>>
      0;
    if (length === 0) throw new WireFormatError("bad-frame", "a frame without a kind byte");
    if (length - 1 > this.maxFrameBytes) {
      throw new WireFormatError(
        "bad-frame",
        `a frame of ${length - 1} bytes, larger than the limit of ${this.maxFrameBytes}`,
      );
    }
    return length - 1;
  }
}
