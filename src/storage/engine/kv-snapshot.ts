// The engine's snapshot format: the applied key space (strings, lists) and the member
// metadata with the point it was taken at, so that a snapshot's data alone can rebuild an
// engine. Layout (varints little-endian; "bytes" = varint length + the bytes):
//
//   u8 version (= 2) | varint index | varint term
//   | varint voterCount | voters... | varint learnerCount | learners...
//   | varint pairCount | (bytes key | bytes value)...
//   | varint listCount | (bytes key | varint n | (bytes element) x n)...      (version 2)
//   | varint memberCount | (varint id | u8 present (bit 0 resp, 1 http, 2 raft)
//                           | bytes resp | bytes http | bytes raft, each when present)... (v2)
//
// Version 1 (strings only, no list or member section) is still read.
import type { MemberAddresses } from "../../proposal/kv.js";
import type { ConfState } from "../../raft/types.js";
import { putUvarint, readVarint, uvarintSize, type VarintCursor } from "../../units/varint.js";
import { EngineError } from "../errors.js";

const VERSION = 2;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export interface KvSnapshot {
  index: number;
  term: number;
  confState: ConfState;
  /** String keys and values; decoded pairs are views into the snapshot data. */
  pairs: [key: Uint8Array, value: Uint8Array][];
  /** List keys with their elements, head first (absent when encoding: none). */
  lists?: [key: Uint8Array, elements: Uint8Array[]][];
  /** Member metadata (absent when encoding: none). */
  members?: [id: number, addresses: MemberAddresses][];
}

function bytesSize(b: Uint8Array): number {
  return uvarintSize(b.length) + b.length;
}

export function encodeKvSnapshot(s: KvSnapshot): Uint8Array {
  const { voters, learners } = s.confState;
  const lists = s.lists ?? [];
  const text = (t: string | undefined) => (t === undefined ? undefined : utf8.encode(t));
  const members = (s.members ?? []).map(
    ([id, a]) => [id, text(a.resp), text(a.http), text(a.raft)] as const,
  );
  let size = 1 + uvarintSize(s.index) + uvarintSize(s.term);
  size += uvarintSize(voters.length) + uvarintSize(learners.length) + uvarintSize(s.pairs.length);
  for (const id of voters) size += uvarintSize(id);
  for (const id of learners) size += uvarintSize(id);
  for (const [k, v] of s.pairs) size += bytesSize(k) + bytesSize(v);
  size += uvarintSize(lists.length);
  for (const [k, elements] of lists) {
    size += bytesSize(k) + uvarintSize(elements.length);
    for (const e of elements) size += bytesSize(e);
  }
  size += uvarintSize(members.length);
  for (const [id, ...addresses] of members) {
    size += uvarintSize(id) + 1;
    for (const a of addresses) if (a !== undefined) size += bytesSize(a);
  }
  const out = new Uint8Array(size);
  out[0] = VERSION;
  let pos = 1;
  const num = (n: number): void => {
    pos = putUvarint(out, pos, n);
  };
  const bytes = (b: Uint8Array): void => {
    pos = putUvarint(out, pos, b.length);
    out.set(b, pos);
    pos += b.length;
  };
  num(s.index);
  num(s.term);
  num(voters.length);
  for (const id of voters) num(id);
  num(learners.length);
  for (const id of learners) num(id);
  num(s.pairs.length);
  for (const [k, v] of s.pairs) {
    bytes(k);
    bytes(v);
  }
  num(lists.length);
  for (const [k, elements] of lists) {
    bytes(k);
    num(elements.length);
    for (const e of elements) bytes(e);
  }
  num(members.length);
  for (const [id, ...addresses] of members) {
    num(id);
    out[pos++] = addresses.reduce((bits, a, i) => bits | (a === undefined ? 0 : 1 << i), 0);
    for (const a of addresses) if (a !== undefined) bytes(a);
  }
  return out;
}

/** A decoded snapshot: every section present. */
export type DecodedKvSnapshot = Required<KvSnapshot>;

/** Decodes snapshot data; throws an Error starting "malformed snapshot" on bad input. */
export function decodeKvSnapshot(data: Uint8Array): DecodedKvSnapshot {
  try {
    if (data.length === 0 || (data[0] !== 1 && data[0] !== VERSION)) {
      throw new RangeError(
        data.length === 0
          ? "no data"
          : `version ${data[0]} is not a supported one (1 or ${VERSION})`,
      );
    }
    const version = data[0];
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
    const lists: [Uint8Array, Uint8Array[]][] = [];
    const members: [number, MemberAddresses][] = [];
    if (version === VERSION) {
      const listCount = count("list");
      for (let i = 0; i < listCount; i++) {
        const key = bytes();
        const n = count("element");
        if (n === 0) throw new RangeError("an empty list (lists are never empty)");
        lists.push([key, Array.from({ length: n }, bytes)]);
      }
      const memberCount = count("member");
      for (let i = 0; i < memberCount; i++) {
        const id = next();
        if (cur.pos >= data.length) throw new RangeError("member flags run past the end");
        const present = data[cur.pos++]!;
        if (present > 7) throw new RangeError(`member flags ${present} are unknown`);
        const addresses: MemberAddresses = {};
        if (present & 1) addresses.resp = utf8Decoder.decode(bytes());
        if (present & 2) addresses.http = utf8Decoder.decode(bytes());
        if (present & 4) addresses.raft = utf8Decoder.decode(bytes());
        members.push([id, addresses]);
      }
    }
    if (cur.pos !== data.length) throw new RangeError(`${data.length - cur.pos} trailing bytes`);
    return { index, term, confState: { voters, learners }, pairs, lists, members };
  } catch (err) {
    throw new EngineError("malformed-snapshot", `malformed snapshot: ${(err as Error).message}`);
  }
}
