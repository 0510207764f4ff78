// The proposal format carried in a normal entry's data: what the workload proposes and
// what the engine applies. The first byte says what an entry carries:
//
//   1 (PROPOSAL_VERSION): a plain put, the benchmark's proposal (this file), little-endian:
//     u8 1 | u64 id | varint keyLen | key bytes | value bytes (the rest)
//   2 (COMMAND_KIND): a key-value command with a result (command.ts)
//   3 (MEMBER_KIND): node-internal member metadata (command.ts)
//
// The id is fixed-width so a proposal's size depends only on its key and value lengths:
// the workload can size a payload of exactly N bytes before it knows the id. The value
// needs no length: it runs to the end of the entry data.
import { RafttoyError } from "../errors/errors.js";
import { putUvarint, readVarint, uvarintSize } from "../units/varint.js";

export const PROPOSAL_VERSION = 1;
/** A key-value command (KvWrite) whose result the state machine reports. */
export const COMMAND_KIND = 2;
/** Member metadata (MemberWrite). */
export const MEMBER_KIND = 3;
/** Version byte plus the fixed-width id. */
export const FIXED_HEADER = 9;
const TWO_POW_32 = 0x1_0000_0000;

export interface Proposal {
  /** Per-proposer sequence number: a non-negative safe integer. */
  id: number;
  key: Uint8Array;
  value: Uint8Array;
}

/** Proposal bytes that do not decode (the only error of the proposal format). */
export class MalformedProposalError extends RafttoyError<"malformed-proposal"> {
  constructor(detail: string) {
    super("malformed-proposal", `malformed proposal: ${detail}`);
  }
}

/** Total encoded size of a proposal with these key and value lengths. */
export function proposalSize(keyLen: number, valueLen: number): number {
  return FIXED_HEADER + uvarintSize(keyLen) + keyLen + valueLen;
}

/** Writes the kind byte and the fixed-width id at the start of `into`. */
export function writeKindAndId(into: Uint8Array, kind: number, id: number): void {
  if (!Number.isSafeInteger(id) || id < 0) {
    throw new RangeError(`proposal id must be a non-negative safe integer, got ${id}`);
  }
  into[0] = kind;
  const lo = id % TWO_POW_32;
  const hi = (id - lo) / TWO_POW_32;
  into[1] = lo & 0xff;
  into[2] = (lo >>> 8) & 0xff;
  into[3] = (lo >>> 16) & 0xff;
  into[4] = lo >>> 24;
  into[5] = hi & 0xff;
  into[6] = (hi >>> 8) & 0xff;
  into[7] = (hi >>> 16) & 0xff;
  into[8] = hi >>> 24;
}

/** The id of a proposal of any kind (bytes 1..8); the caller checked the length. */
export function readId(bytes: Uint8Array): number {
  const lo = (bytes[1]! | (bytes[2]! << 8) | (bytes[3]! << 16) | (bytes[4]! << 24)) >>> 0;
  const hi = (bytes[5]! | (bytes[6]! << 8) | (bytes[7]! << 16) | (bytes[8]! << 24)) >>> 0;
  if (hi >= 0x20_0000) throw new MalformedProposalError("id exceeds the safe integer range");
  return hi * TWO_POW_32 + lo;
}

function writeHeader(into: Uint8Array, id: number, key: Uint8Array): number {
  writeKindAndId(into, PROPOSAL_VERSION, id);
  const pos = putUvarint(into, FIXED_HEADER, key.length);
  into.set(key, pos);
  return pos + key.length;
}

/**
 * Encodes `p`. With `into`, writes there (it must be exactly proposalSize(...) long, e.g.
 * a subarray of a larger buffer) and returns it; otherwise allocates.
 */
export function encodeProposal(p: Proposal, into?: Uint8Array): Uint8Array {
  const size = proposalSize(p.key.length, p.value.length);
  const out = into ?? new Uint8Array(size);
  if (out.length !== size) {
    throw new RangeError(`encodeProposal: buffer is ${out.length} bytes, proposal needs ${size}`);
  }
  const pos = writeHeader(out, p.id, p.key);
  out.set(p.value, pos);
  return out;
}

/** Smallest payload that holds a proposal with a key of `keyLen` bytes and an empty value. */
export function minPayloadSize(keyLen: number): number {
  return proposalSize(keyLen, 0);
}

/**
 * Fills all of `into` with a proposal of the given id and key: the value takes whatever
 * room is left, so the entry data is exactly `into.length` bytes (a benchmark's `bytes`).
 * The value bytes are left as they are (callers fill them once, then reuse the buffer).
 */
export function fillProposal(into: Uint8Array, id: number, key: Uint8Array): Uint8Array {
  const min = minPayloadSize(key.length);
  if (into.length < min) {
    throw new RangeError(
      `payload of ${into.length} bytes cannot hold a proposal with a ${key.length}-byte key: ` +
        `use at least ${min} bytes or a shorter key`,
    );
  }
  writeHeader(into, id, key);
  return into;
}

/** Decodes a proposal. `key` and `value` are views into `bytes`, not copies. */
export function decodeProposal(bytes: Uint8Array): Proposal {
  if (bytes.length < FIXED_HEADER + 1) {
    throw new MalformedProposalError(
      `${bytes.length} bytes is shorter than the ${FIXED_HEADER + 1}-byte header`,
    );
  }
  if (bytes[0] !== PROPOSAL_VERSION) {
    throw new MalformedProposalError(
      `version ${bytes[0]} is not the supported version ${PROPOSAL_VERSION}`,
    );
  }
  const id = readId(bytes);
  const cursor = { value: 0, pos: FIXED_HEADER };
  try {
    readVarint(bytes, cursor);
  } catch (err) {
    throw new MalformedProposalError(`key length: ${(err as Error).message}`);
  }
  const keyEnd = cursor.pos + cursor.value;
  if (keyEnd > bytes.length) {
    throw new MalformedProposalError(
      `key length ${cursor.value} runs past the end of a ${bytes.length}-byte proposal`,
    );
  }
  return {
    id,
    key: bytes.subarray(cursor.pos, keyEnd),
    value: bytes.subarray(keyEnd),
  };
}
