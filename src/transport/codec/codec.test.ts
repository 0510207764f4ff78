import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import protobuf from "protobufjs";
import { SeededRng } from "../../raft/rng.js";
import type { Entry, Message, MessageType, Snapshot } from "../../raft/types.js";
import { EntryType, makeMessage } from "../../raft/types.js";
import { WireFormatError } from "../errors.js";
import { protoDir } from "../proto-files.js";
import type { Epoch, InboundBatch } from "../transport.js";
import { decodeBatch } from "./decode.js";
import { BatchEncoder } from "./encode.js";
import { batchHeaderLength, concatBatches, sameBatchHeader } from "./join.js";
import { encodePing, readPing } from "./ping.js";

const SEED = Number(process.env.CODEC_SEED ?? Date.now() % 0x7fffffff);
console.log(`codec test seed: ${SEED} (rerun with CODEC_SEED=${SEED})`);

// One encoder for the whole file, as one transport keeps one: its entry cache carries over
// from test to test, as it does from send to send.
const encoder = new BatchEncoder();
const encodeBatch = (epoch: Epoch, from: number, messages: readonly Message[]): Uint8Array =>
  encoder.encode(epoch, from, messages);
const encodeBatchParts = (
  epoch: Epoch,
  from: number,
  messages: readonly Message[],
  minShared: number,
): { parts: Uint8Array[]; length: number } => encoder.encodeParts(epoch, from, messages, minShared);

// ---------------------------------------------------------------------------------------
// Random messages

/** Mixes small and large values so every varint length from 1 to 8 bytes occurs. */
function randomUint(rng: SeededRng): number {
  switch (rng.intn(5)) {
    case 0:
      return 0;
    case 1:
      return rng.intn(128);
    case 2:
      return rng.intn(1 << 21);
    case 3:
      return rng.nextU32();
    default:
      return rng.intn(1 << 21) * 0x1_0000_0000 + rng.nextU32();
  }
}

function randomBytes(rng: SeededRng, max: number): Uint8Array {
  const out = new Uint8Array(rng.intn(max + 1));
  for (let i = 0; i < out.length; i++) out[i] = rng.intn(256);
  return out;
}

function randomEntry(rng: SeededRng): Entry {
  return {
    term: randomUint(rng),
    index: randomUint(rng),
    type: rng.intn(2) === 0 ? EntryType.Normal : EntryType.ConfChange,
    data: randomBytes(rng, 300),
  };
}

function randomSnapshot(rng: SeededRng): Snapshot {
  const ids = (): number[] => Array.from({ length: rng.intn(4) }, () => randomUint(rng));
  return {
    data: randomBytes(rng, 64),
    metadata: { confState: { voters: ids(), learners: ids() }, index: randomUint(rng), term: 0 },
  };
}

function randomMessage(rng: SeededRng): Message {
  return makeMessage({
    type: rng.intn(23) as MessageType,
    to: randomUint(rng),
    from: randomUint(rng),
    term: randomUint(rng),
    logTerm: randomUint(rng),
    index: randomUint(rng),
    entries: Array.from({ length: rng.intn(4) === 0 ? rng.intn(40) : 0 }, () => randomEntry(rng)),
    commit: randomUint(rng),
    snapshot: rng.intn(6) === 0 ? randomSnapshot(rng) : undefined,
    reject: rng.intn(2) === 0,
    rejectHint: randomUint(rng),
    context: rng.intn(3) === 0 ? randomBytes(rng, 16) : new Uint8Array(0),
    // Local-only fields: must not travel.
    vote: randomUint(rng),
    responses: rng.intn(4) === 0 ? [makeMessage({ type: 4, to: 1, from: 2 })] : undefined,
  });
}

function randomEpoch(rng: SeededRng): Epoch {
  return { start: randomUint(rng), iteration: randomUint(rng) };
}

// ---------------------------------------------------------------------------------------
// Comparable shapes: plain objects with byte fields as number arrays, local fields cleared.

type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

function plain(value: unknown): Plain {
  if (value === undefined || value === null) return null;
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object") {
    const out: { [key: string]: Plain } = {};
    for (const [k, v] of Object.entries(value)) out[k] = plain(v);
    return out;
  }
  if (typeof value === "boolean" || typeof value === "number" || typeof value === "string") {
    return value;
  }
  throw new Error(`unexpected value ${String(value)}`);
}

/** What a batch looks like after the wire: local-only fields cleared. */
function expectedBatch(epoch: Epoch, from: number, messages: Message[]): Plain {
  return plain({
    epoch,
    from,
    messages: messages.map((m) => ({ ...m, vote: 0, responses: undefined })),
  });
}

function decodedPlain(batch: InboundBatch): Plain {
  return plain(batch);
}

// ---------------------------------------------------------------------------------------
// protobufjs, the independent reader and writer of the same schema

const root = protobuf.loadSync(join(protoDir(), "transport.proto"));
const RaftBatchType = root.lookupType("rafttoy.transport.RaftBatch");

/** protobufjs's view of the bytes, in the decoder's field names and defaults. */
function protobufjsPlain(bytes: Uint8Array): Plain {
  const decoded = RaftBatchType.decode(bytes);
  const obj = RaftBatchType.toObject(decoded, {
    longs: Number,
    enums: Number,
    defaults: true,
    arrays: true,
  }) as { epoch: unknown; from: number; messages: Record<string, unknown>[] };
  return plain({
    epoch: obj.epoch ?? { start: 0, iteration: 0 },
    from: obj.from,
    messages: obj.messages.map((m) => ({
      type: m.type,
      to: m.to,
      from: m.from,
      term: m.term,
      logTerm: m.logTerm,
      index: m.index,
      entries: m.entries,
      commit: m.commit,
      snapshot: m.snapshot,
      reject: m.reject,
      rejectHint: m.rejectHint,
      context: m.context,
      vote: m.vote,
      responses: (m.responses as unknown[]).length === 0 ? undefined : m.responses,
    })),
  });
}

/** A batch of one MsgApp with one small entry, for the truncation tests. */
function smallAppendBatch(): Uint8Array {
  return encodeBatch({ start: 1700000000000, iteration: 4 }, 2, [
    makeMessage({
      type: 3,
      to: 1,
      from: 2,
      entries: [{ term: 1, index: 9, type: 0, data: new Uint8Array(10) }],
    }),
  ]);
}

/** Where `batch` may be cut and still be a valid, shorter batch: between top-level fields. */
function topLevelFieldEnds(batch: Uint8Array): number[] {
  return [2 + batch[1]!, batchHeaderLength(batch)];
}

/** `bytes` cut at random places into chunks (copies, so no chunk shares memory with another). */
function randomCuts(rng: SeededRng, bytes: Uint8Array): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const take = rng.intn(3) === 0 ? rng.intn(4) : rng.intn(bytes.length - at + 1);
    chunks.push(bytes.slice(at, at + take));
    at += take;
  }
  return chunks;
}

// ---------------------------------------------------------------------------------------

describe("codec", () => {
  test("random batches survive a round trip and read the same in protobufjs", () => {
    const rng = new SeededRng(SEED);
    for (let round = 0; round < 300; round++) {
      const epoch = randomEpoch(rng);
      const from = randomUint(rng);
      const messages = Array.from({ length: rng.intn(6) }, () => randomMessage(rng));
      const bytes = encodeBatch(epoch, from, messages);
      const want = expectedBatch(epoch, from, messages);
      assert.deepEqual(decodedPlain(decodeBatch(bytes)), want, `round ${round}, seed ${SEED}`);
      assert.deepEqual(protobufjsPlain(bytes), want, `protobufjs, round ${round}, seed ${SEED}`);
    }
  });

  test("messages sharing entries (slices of one log) encode each destination's batch right", () => {
    // A leader sends every follower slices of one log: the same Entry objects, often the
    // same ranges, sometimes overlapping ones, in batches of one or several messages.
    const rng = new SeededRng(SEED ^ 0x1b873593);
    const log = Array.from({ length: 64 }, () => randomEntry(rng));
    const slice = (): Entry[] => {
      const from = rng.intn(log.length);
      return log.slice(from, from + rng.intn(log.length - from + 1));
    };
    let ranges = [slice(), slice()];
    for (let round = 0; round < 400; round++) {
      if (rng.intn(3) === 0) ranges = [slice(), slice()];
      const epoch = randomEpoch(rng);
      const messages = Array.from({ length: 1 + rng.intn(3) }, () => {
        const m = randomMessage(rng);
        // A fresh array over the same Entry objects, as each MsgApp gets its own slice.
        return { ...m, entries: [...ranges[rng.intn(ranges.length)]!] };
      });
      const bytes = encodeBatch(epoch, 1, messages);
      const want = expectedBatch(epoch, 1, messages);
      assert.deepEqual(decodedPlain(decodeBatch(bytes)), want, `round ${round}, seed ${SEED}`);
      assert.deepEqual(protobufjsPlain(bytes), want, `protobufjs, round ${round}, seed ${SEED}`);
    }
  });

  test("encodeParts: the parts join to encode's bytes; large data is not copied", () => {
    const rng = new SeededRng(SEED ^ 0x2545f491);
    const log = Array.from({ length: 48 }, () => randomEntry(rng));
    for (let round = 0; round < 300; round++) {
      const epoch = randomEpoch(rng);
      const messages = Array.from({ length: rng.intn(5) }, () => {
        const m = randomMessage(rng);
        const from = rng.intn(log.length);
        // Slices of one log, as a leader sends, so the encoder's cache is in play too.
        return rng.intn(2) === 0 ? { ...m, entries: log.slice(from, from + rng.intn(9)) } : m;
      });
      const minShared = 1 + rng.intn(300);
      // Either order: the cache left by one must not leak into the other.
      const first = rng.intn(2) === 0;
      const whole = first ? encodeBatch(epoch, 7, messages) : undefined;
      const { parts, length } = encodeBatchParts(epoch, 7, messages, minShared);
      const want = whole ?? encodeBatch(epoch, 7, messages);
      const joined = Buffer.concat(parts);
      assert.equal(length, joined.length, `round ${round}, seed ${SEED}`);
      assert.deepEqual([...joined], [...want], `round ${round}, seed ${SEED}`);
      const large = messages.flatMap((m) => m.entries).filter((e) => e.data.length >= minShared);
      for (const e of large) {
        assert.ok(
          parts.some((p) => p === e.data),
          `entry data of ${e.data.length} bytes was copied (round ${round}, seed ${SEED})`,
        );
      }
    }
  });

  test("encodeParts: a second destination's batch reuses the first's entry bytes by reference", () => {
    // A leader sends both followers the same slice of its log: the second batch must carry
    // the entries encoded for the first as a view of those bytes, not as a second copy.
    const rng = new SeededRng(SEED ^ 0x3c6ef372);
    const log = Array.from({ length: 32 }, () => ({
      ...randomEntry(rng),
      data: randomBytes(rng, 200),
    }));
    const epoch = randomEpoch(rng);
    const msgApp = (to: number, commit: number): Message =>
      makeMessage({ type: 3, to, from: 1, term: 2, index: 5, commit, entries: log.slice(4, 28) });
    const enc = new BatchEncoder();
    const first = enc.encodeParts(epoch, 1, [msgApp(2, 7)], 4096);
    assert.equal(first.parts.length, 1);
    const second = enc.encodeParts(epoch, 1, [msgApp(3, 9)], 4096);
    for (const [got, m] of [
      [first, msgApp(2, 7)],
      [second, msgApp(3, 9)],
    ] as const) {
      const joined = Buffer.concat(got.parts);
      assert.equal(joined.length, got.length, `seed ${SEED}`);
      assert.deepEqual(
        decodedPlain(decodeBatch(joined)),
        expectedBatch(epoch, 1, [m]),
        `seed ${SEED}`,
      );
    }
    const firstBytes = first.parts[0]!;
    // Small batches may share one pool allocation: inside the first batch's bytes is what counts.
    const shared = second.parts.filter(
      (p) =>
        p.buffer === firstBytes.buffer &&
        p.byteOffset >= firstBytes.byteOffset &&
        p.byteOffset + p.length <= firstBytes.byteOffset + firstBytes.length,
    );
    assert.equal(
      shared.length,
      1,
      `the entries are one part pointing into the first batch (seed ${SEED})`,
    );
    const dataBytes = log.slice(4, 28).reduce((n, e) => n + e.data.length, 0);
    assert.ok(shared[0]!.length >= dataBytes, `every entry's data is in that part (seed ${SEED})`);
    // The whole-buffer encode still copies them: its caller (gRPC) needs one contiguous buffer.
    const whole = enc.encode(epoch, 1, [msgApp(3, 9)]);
    assert.ok(
      whole.buffer !== firstBytes.buffer ||
        whole.byteOffset >= firstBytes.byteOffset + firstBytes.length,
    );
  });

  test("two encoders share nothing: one's handed-out bytes never reach the other's batches", () => {
    // Two transports in one process (a test cluster) send the same log slices. Each owns the
    // batches it hands out and may let its writer reuse them once written; the other must
    // encode its own batches from the entries, never copy them from the first one's bytes.
    const rng = new SeededRng(SEED ^ 0x68e31da4);
    const log = Array.from({ length: 16 }, () => randomEntry(rng));
    const epoch = randomEpoch(rng);
    const msgApp = (to: number): Message =>
      makeMessage({ type: 3, to, from: 1, term: 2, index: 5, entries: log.slice(2, 12) });
    const a = new BatchEncoder();
    const b = new BatchEncoder();
    const want = expectedBatch(epoch, 1, [msgApp(2)]);
    const fromA = a.encode(epoch, 1, [msgApp(2)]);
    assert.deepEqual(decodedPlain(decodeBatch(fromA)), want, `seed ${SEED}`);
    fromA.fill(0xee); // A's writer reuses the buffer it was handed.
    const fromB = b.encode(epoch, 1, [msgApp(2)]);
    assert.deepEqual(decodedPlain(decodeBatch(fromB)), want, `seed ${SEED}`);
    const partsB = b.encodeParts(epoch, 1, [msgApp(3)], 1 << 20);
    assert.deepEqual(
      decodedPlain(decodeBatch(Buffer.concat(partsB.parts))),
      expectedBatch(epoch, 1, [msgApp(3)]),
      `seed ${SEED}`,
    );
  });

  test("a ping reads as an empty RaftBatch to protobuf and carries its clock", () => {
    const bytes = encodePing(12345.678);
    assert.equal(readPing(bytes), 12345.678);
    assert.equal(readPing(encodeBatch({ start: 1, iteration: 0 }, 1, [])), undefined);
    assert.deepEqual(decodeBatch(bytes).messages, []);
    const decoded = RaftBatchType.toObject(RaftBatchType.decode(bytes)) as { ping?: number };
    assert.equal(decoded.ping, 12345.678);
  });

  test("batches written by protobufjs decode the same", () => {
    const rng = new SeededRng(SEED ^ 0x5bd1e995);
    for (let round = 0; round < 100; round++) {
      const epoch = randomEpoch(rng);
      const from = randomUint(rng);
      const messages = Array.from({ length: 1 + rng.intn(4) }, () => randomMessage(rng));
      const wire = messages.map((m) => ({ ...m, vote: 0, responses: [] }));
      const bytes = RaftBatchType.encode(
        RaftBatchType.fromObject({ epoch, from, messages: wire }),
      ).finish();
      assert.deepEqual(
        decodedPlain(decodeBatch(bytes)),
        expectedBatch(epoch, from, messages),
        `round ${round}, seed ${SEED}`,
      );
    }
  });

  test("entry data are views of the received bytes, not copies", () => {
    const data = new Uint8Array(256).fill(7);
    const msg = makeMessage({
      type: 3,
      to: 2,
      from: 1,
      entries: [{ term: 1, index: 1, type: EntryType.Normal, data }],
    });
    const bytes = encodeBatch({ start: 1, iteration: 0 }, 1, [msg]);
    const decoded = decodeBatch(bytes).messages[0]!.entries[0]!.data;
    assert.equal(decoded.buffer, bytes.buffer);
    assert.deepEqual(Array.from(decoded), Array.from(data));
  });

  test("a batch given as the chunks it arrived in decodes as the whole, wherever the cuts fall", () => {
    const rng = new SeededRng(SEED ^ 0x68e31da4);
    for (let round = 0; round < 200; round++) {
      const epoch = randomEpoch(rng);
      const messages = Array.from({ length: 1 + rng.intn(4) }, () => randomMessage(rng));
      const bytes = encodeBatch(epoch, randomUint(rng), messages);
      const want = decodedPlain(decodeBatch(bytes));
      // Cuts anywhere: inside varints, lengths and entry data; empty chunks too.
      const chunks = randomCuts(rng, bytes);
      assert.deepEqual(
        decodedPlain(decodeBatch(chunks)),
        want,
        `round ${round}, ${chunks.length} chunks, seed ${SEED}`,
      );
    }
  });

  test("from chunks, entry data inside one chunk are views of it; cut data are copied", () => {
    const data = Array.from({ length: 3 }, (_, i) => new Uint8Array(100).fill(i + 1));
    const bytes = encodeBatch({ start: 1, iteration: 0 }, 1, [
      makeMessage({
        type: 3,
        to: 2,
        from: 1,
        entries: data.map((d, i) => ({ term: 1, index: i + 1, type: EntryType.Normal, data: d })),
      }),
    ]);
    // The second entry's data (100 bytes of 2) is cut in the middle.
    const second = Buffer.from(bytes).indexOf(Buffer.alloc(100, 2));
    assert.ok(second > 0);
    const cut = second + 50;
    const chunks = [bytes.slice(0, cut), bytes.slice(cut)];
    const entries = decodeBatch(chunks).messages[0]!.entries;
    assert.equal(entries[0]!.data.buffer, chunks[0]!.buffer);
    assert.equal(entries[2]!.data.buffer, chunks[1]!.buffer);
    assert.notEqual(entries[1]!.data.buffer, chunks[0]!.buffer);
    assert.notEqual(entries[1]!.data.buffer, chunks[1]!.buffer);
    assert.deepEqual(
      entries.map((e) => Array.from(e.data)),
      data.map((d) => Array.from(d)),
    );
  });

  test("chunked input truncated anywhere is rejected or reads as a shorter batch", () => {
    const good = smallAppendBatch();
    const fieldEnds = topLevelFieldEnds(good);
    for (let cut = 1; cut < good.length; cut++) {
      // Every truncation, split at every place before it.
      for (let split = 0; split <= cut; split++) {
        const chunks = [good.subarray(0, split), good.subarray(split, cut)];
        try {
          decodeBatch(chunks);
        } catch (err) {
          assert.ok(err instanceof WireFormatError, `cut ${cut}, split ${split}: ${String(err)}`);
          continue;
        }
        assert.ok(fieldEnds.includes(cut), `truncation at ${cut} (split ${split}) went unnoticed`);
      }
    }
  });

  test("zero fields are omitted, as proto3 writes them", () => {
    const bytes = encodeBatch({ start: 0, iteration: 0 }, 0, [
      makeMessage({ type: 0, to: 0, from: 0 }),
    ]);
    // An empty epoch (tag, length 0) and an empty message (tag, length 0).
    assert.deepEqual(Array.from(bytes), [0x0a, 0x00, 0x1a, 0x00]);
  });

  test("unknown fields are skipped", () => {
    const known = encodeBatch({ start: 5, iteration: 2 }, 3, [
      makeMessage({ type: 8, to: 1, from: 3 }),
    ]);
    // Field 9 varint, field 10 fixed64, field 11 bytes, field 12 fixed32, then the batch.
    const unknown = [
      0x48, 0x96, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5a, 2, 9, 9, 0x65, 1, 2, 3, 4,
    ];
    const bytes = new Uint8Array([...unknown, ...known]);
    assert.deepEqual(decodedPlain(decodeBatch(bytes)), decodedPlain(decodeBatch(known)));
  });

  test("values above Number.MAX_SAFE_INTEGER are rejected on decode", () => {
    // from = 2^53, one above the largest safe integer: varint of eight bytes.
    const tooBig = new Uint8Array([0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
    assert.throws(
      () => decodeBatch(tooBig),
      (err: unknown) => {
        return err instanceof WireFormatError && /MAX_SAFE_INTEGER/.test(err.message);
      },
    );
    const max = encodeBatch({ start: 0, iteration: 0 }, Number.MAX_SAFE_INTEGER, []);
    assert.equal(decodeBatch(max).from, Number.MAX_SAFE_INTEGER);
  });

  test("malformed bytes are rejected with WireFormatError", () => {
    const good = smallAppendBatch();
    const fieldEnds = topLevelFieldEnds(good);
    for (let cut = 1; cut < good.length; cut++) {
      const truncated = good.subarray(0, cut);
      try {
        decodeBatch(truncated);
      } catch (err) {
        assert.ok(err instanceof WireFormatError, `cut at ${cut}: ${String(err)}`);
        continue;
      }
      assert.ok(fieldEnds.includes(cut), `truncation at ${cut} of ${good.length} went unnoticed`);
    }
    assert.throws(() => decodeBatch(new Uint8Array([0x0b])), WireFormatError); // group wire type
    assert.throws(
      () =>
        decodeBatch(
          new Uint8Array([0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
        ),
      WireFormatError,
    );
  });

  test("values the wire cannot carry are rejected on encode, naming the field", () => {
    const epoch = { start: 1, iteration: 0 };
    for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
      assert.throws(
        () => encodeBatch(epoch, 1, [makeMessage({ type: 3, to: 2, from: 1, term: bad })]),
        (err: unknown) => err instanceof WireFormatError && /message\.term/.test(err.message),
      );
    }
    assert.throws(() => encodeBatch({ start: -5, iteration: 0 }, 1, []), /epoch\.start/);
  });

  test("batches with one header join into one batch carrying every message in order", () => {
    const rng = new SeededRng(SEED ^ 0x1234567);
    const epoch = randomEpoch(rng);
    const parts = [1, 3, 2].map((n) => Array.from({ length: n }, () => randomMessage(rng)));
    const encoded = parts.map((ms) => encodeBatch(epoch, 7, ms));
    const h = batchHeaderLength(encoded[0]!);
    for (const b of encoded) assert.ok(sameBatchHeader(encoded[0]!, h, b, batchHeaderLength(b)));
    const joined = concatBatches(encoded, h);
    assert.deepEqual(
      decodedPlain(decodeBatch(joined)),
      expectedBatch(epoch, 7, parts.flat()),
      `seed ${SEED}`,
    );
    const other = encodeBatch({ start: epoch.start, iteration: epoch.iteration + 1 }, 7, []);
    assert.equal(sameBatchHeader(encoded[0]!, h, other, batchHeaderLength(other)), false);
  });
});
