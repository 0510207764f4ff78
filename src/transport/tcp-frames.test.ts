import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SeededRng } from "../raft/rng.js";
import { WireFormatError } from "./errors.js";
import {
  contiguous,
  FrameKind,
  FrameReader,
  frameHeader,
  pingFrame,
  readPing,
} from "./tcp-frames.js";

const SEED = Number(process.env.FRAMES_SEED ?? Date.now() % 0x7fffffff);
console.log(`tcp-frames test seed: ${SEED} (rerun with FRAMES_SEED=${SEED})`);

interface Frame {
  kind: number;
  body: number[];
}

function randomFrames(rng: SeededRng): Frame[] {
  return Array.from({ length: 1 + rng.intn(8) }, () => {
    // Empty bodies, small ones, and ones larger than any chunk.
    const size = [0, 1 + rng.intn(10), rng.intn(300), 1000 + rng.intn(3000)][rng.intn(4)]!;
    return { kind: 1 + rng.intn(4), body: Array.from({ length: size }, () => rng.intn(256)) };
  });
}

function wire(frames: readonly Frame[]): Uint8Array {
  return Buffer.concat(
    frames.flatMap((f) => [frameHeader(f.kind as FrameKind, f.body.length), Buffer.from(f.body)]),
  );
}

/** Feeds `bytes` in chunks of random sizes (1 byte up to the whole), copies each. */
function feed(reader: FrameReader, rng: SeededRng, bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const take = 1 + (rng.intn(2) === 0 ? rng.intn(6) : rng.intn(bytes.length - at));
    const chunk = Buffer.from(bytes.subarray(at, at + take));
    chunks.push(chunk);
    reader.push(chunk);
    at += take;
  }
  return chunks;
}

describe("FrameReader", () => {
  test("frames come out whole and in order however the stream is cut", () => {
    const rng = new SeededRng(SEED);
    for (let round = 0; round < 300; round++) {
      const frames = randomFrames(rng);
      const got: Frame[] = [];
      const reader = new FrameReader(1 << 20, (kind, parts) => {
        got.push({ kind, body: Array.from(contiguous(parts)) });
      });
      feed(reader, rng, wire(frames));
      assert.deepEqual(got, frames, `round ${round}, seed ${SEED}`);
    }
  });

  test("a body is handed out as views of the chunks it arrived in, never copied", () => {
    const rng = new SeededRng(SEED ^ 0x5bd1e995);
    for (let round = 0; round < 100; round++) {
      const frames = randomFrames(rng);
      const pieces: Uint8Array[] = [];
      const reader = new FrameReader(1 << 20, (_kind, parts) => pieces.push(...parts));
      const chunks = feed(reader, rng, wire(frames));
      const buffers = new Set(chunks.map((c) => c.buffer));
      for (const piece of pieces) {
        assert.ok(buffers.has(piece.buffer), `a copied piece, round ${round}, seed ${SEED}`);
      }
    }
  });

  test("control frames read the same from pieces", () => {
    const frame = pingFrame(FrameKind.Ping, 1234.5);
    const bodies: Uint8Array[] = [];
    const reader = new FrameReader(64, (_kind, parts) => bodies.push(contiguous(parts)));
    for (let i = 0; i < frame.length; i++) reader.push(frame.subarray(i, i + 1));
    assert.equal(readPing(bodies[0]!), 1234.5);
  });

  test("frames over the limit and frames without a kind byte are refused", () => {
    const reader = new FrameReader(16, () => {});
    assert.throws(() => reader.push(frameHeader(FrameKind.Batch, 17)), WireFormatError);
    const empty = new FrameReader(16, () => {});
    assert.throws(() => empty.push(new Uint8Array([0, 0, 0, 0, 2])), WireFormatError);
  });
});
