// The engine's snapshot format: the applied key-value map with the point it was taken at,
// so that a snapshot's data alone can rebuild an engine. Layout (varints little-endian):
//
//   u8 version (= 1) | varint index | varint term
//   | varint voterCount | voters... | varint learnerCount | learners...
//   | varint pairCount | (varint keyLen | key | varint valueLen | value)...
import { readVarint, type VarintCursor, varintSize, writeVarint } from "../../codec/varint.js";
import type { ConfState } from "../../raft/types.js";
import { EngineError } from "../errors.js";

const VERSION = 1;

export interface KvSnapshot {
  index: number;
  term: number;
  confState: ConfState;
  /** Key-value pairs; decoded pairs are views into the snapshot data. */
  pairs: [key: Uint8Array, value: Uint8Array][];
}

export function encodeKvSnapshot(s: KvSnapshot): Uint8Array {
  const { voters, learners } = s.confState;
  let size = 1 + varintSize(s.index) + varintSize(s.term);
  size += varintSize(voters.length) + varintSize(learners.length) + varintSize(s.pairs.length);
  for (const id of voters) size += varintSize(id);
  for (const id of learners) size += varintSize(id);
  for (const [k, v] of s.pairs) {
    size += varintSize(k.length) + k.length + varintSize(v.length) + v.length;
  }
  const out = new Uint8Array(size);
  out[0] = VERSION;
  let pos = writeVarint(out, 1, s.index);
  pos = writeVarint(out, pos, s.term);
  pos = writeVarint(out, pos, voters.length);
  for (const id of voters) pos = writeVarint(out, pos, id);
  pos = writeVarint(out, pos, learners.length);
  for (const id of learners) pos = writeVarint(out, pos, id);
  pos = writeVarint(out, pos, s.pairs.length);
  for (const [k, v] of s.pairs) {
    pos = writeVarint(out, pos, k.length);
    out.set(k, pos);
    pos = writeVarint(out, pos + k.length, v.length);
    out.set(v, pos);
    pos += v.length;
  }
  return out;
}

/** Decodes snapshot data; throws an Error starting "malformed snapshot" on bad input. */
export function decodeKvSnapshot(data: Uint8Array): KvSnapshot {
  try {
    if (data.length === 0 || data[0] !== VERSION) {
      throw new RangeError(
        data.length === 0 ? "no data" : `version ${data[0]} is not the supported ${VERSION}`,
      );
    }
    const cur: VarintCursor = { value: 0, pos: 1 };
    const next = (): number => {
      readVarint(data, cur);
      return cur.value;
    };
    const bytes = (): Uint8Array => {
      const n = next();
      if (cur.pos + n > data.length) throw new RangeError(`a ${n}-byte field runs past the end`);
      cur.pos += n;
      return data.subarray(cur.pos - n, cur.pos);
    };
    // Every counted item takes at least one byte: a larger count is damage, not a size.
    const count = (what: string): number => {
      const n = next();
      if (n > data.length - cur.pos) throw new RangeError(`${what} count ${n} exceeds the data`);
      return n;
    };
    const index = next();
    const term = next();
    const voters = Array.from({ length: count("voter") }, next);
    const learners = Array.from({ length: count("learner") }, next);
    const pairCount = count("pair");
    const pairs: [Uint8Array, Uint8Array][] = new Array(pairCount);
    for (let i = 0; i < pairCount; i++) {
      const key = bytes();
      pairs[i] = [key, bytes()];
    }
    if (cur.pos !== data.length) throw new RangeError(`${data.length - cur.pos} trailing bytes`);
    return { index, term, confState: { voters, learners }, pairs };
  } catch (err) {
    throw new EngineError("malformed-snapshot", `malformed snapshot: ${(err as Error).message}`);
  }
}
