// Commands in an entry's data: the key-value writes of the service (kind 2) and the node's
// member metadata (kind 3), beside the benchmark's plain put (kind 1, proposal.ts), whose
// bytes this file leaves alone. Every command carries the proposer's id in the same place
// as a put does, so the proposer can match the result the state machine reports for it.
// Layout (little-endian, varints as in src/units/varint.ts, "bytes" = varint length + the bytes):
//
//   u8 kind | u64 id | u8 op | body
//   kind 2 (COMMAND_KIND):
//     op 1 set     u8 condition (0 none, 1 nx, 2 xx) | bytes key | value (the rest)
//     op 2 mset    varint n | (bytes key | bytes value) x n
//     op 3 del     varint n | (bytes key) x n
//     op 4 incrby  i64 by | bytes key
//     op 5 push    u8 end (0 left, 1 right) | bytes key | varint n | (bytes value) x n
//     op 6 pop     u8 end | bytes key
//   kind 3 (MEMBER_KIND):
//     op 1 member-addresses  varint member id | u8 present (bit 0 resp, 1 http, 2 raft)
//                            | bytes resp | bytes http | bytes raft (UTF-8, each when present)
//     op 2 forget-member     varint member id
//
// Decoded keys and values are views into the entry data, not copies.

import { putUvarint, readVarint, uvarintSize, type VarintCursor } from "../units/varint.js";
import type { KvWrite, MemberAddresses, MemberWrite, StateCommand } from "./kv.js";
import {
  COMMAND_KIND,
  FIXED_HEADER,
  MalformedProposalError,
  MEMBER_KIND,
  PROPOSAL_VERSION,
  readId,
  writeKindAndId,
} from "./proposal.js";

const OP = {
  set: 1,
  mset: 2,
  del: 3,
  incrby: 4,
  push: 5,
  pop: 6,
  "member-addresses": 1,
  "forget-member": 2,
} as const;

const CONDITION = { none: 0, nx: 1, xx: 2 } as const;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

/** What an entry's data carries, from its first byte. */
export type EntryKind = "put" | "command" | "member" | "unknown";

export function entryKind(data: Uint8Array): EntryKind {
  switch (data[0]) {
    case PROPOSAL_VERSION:
      return "put";
    case COMMAND_KIND:
      return "command";
    case MEMBER_KIND:
      return "member";
    default:
      return "unknown";
  }
}

export interface DecodedCommand {
  id: number;
  command: StateCommand;
}

function bytesSize(b: Uint8Array): number {
  return uvarintSize(b.length) + b.length;
}

function bodySize(c: StateCommand): number {
  switch (c.op) {
    case "set":
      return 1 + bytesSize(c.key) + c.value.length;
    case "mset": {
      let n = uvarintSize(c.pairs.length);
      for (const [k, v] of c.pairs) n += bytesSize(k) + bytesSize(v);
      return n;
    }
    case "del": {
      let n = uvarintSize(c.keys.length);
      for (const k of c.keys) n += bytesSize(k);
      return n;
    }
    case "incrby":
      return 8 + bytesSize(c.key);
    case "push": {
      let n = 1 + bytesSize(c.key) + uvarintSize(c.values.length);
      for (const v of c.values) n += bytesSize(v);
      return n;
    }
    case "pop":
      return 1 + bytesSize(c.key);
    case "member-addresses":
      return uvarintSize(c.id) + 1 + memberAddressBytes(c).reduce((n, b) => n + bytesSize(b), 0);
    case "forget-member":
      return uvarintSize(c.id);
  }
}

function memberAddressBytes(c: Extract<MemberWrite, { op: "member-addresses" }>): Uint8Array[] {
  const out: Uint8Array[] = [];
  if (c.addresses.resp !== undefined) out.push(utf8.encode(c.addresses.resp));
  if (c.addresses.http !== undefined) out.push(utf8.encode(c.addresses.http));
  if (c.addresses.raft !== undefined) out.push(utf8.encode(c.addresses.raft));
  return out;
}

function isMemberWrite(c: StateCommand): c is MemberWrite {
  return c.op === "member-addresses" || c.op === "forget-member";
}

/** Encodes `command` with the proposer's `id` (a non-negative safe integer). */
export function encodeCommand(id: number, command: StateCommand): Uint8Array {
  if (command.op === "incrby" && (command.by < I64_MIN || command.by > I64_MAX)) {
    throw new RangeError(`incrby: ${command.by} is outside the signed 64-bit range`);
  }
  if (isMemberWrite(command) && (!Number.isSafeInteger(command.id) || command.id < 0)) {
    throw new RangeError(`member id must be a non-negative safe integer, got ${command.id}`);
  }
  const out = new Uint8Array(FIXED_HEADER + 1 + bodySize(command));
  writeKindAndId(out, isMemberWrite(command) ? MEMBER_KIND : COMMAND_KIND, id);
  out[FIXED_HEADER] = OP[command.op];
  let pos = FIXED_HEADER + 1;
  const bytes = (b: Uint8Array): void => {
    pos = putUvarint(out, pos, b.length);
    out.set(b, pos);
    pos += b.length;
  };
  switch (command.op) {
    case "set":
      out[pos++] = CONDITION[command.condition ?? "none"];
      bytes(command.key);
      out.set(command.value, pos);
      pos += command.value.length;
      break;
    case "mset":
      pos = putUvarint(out, pos, command.pairs.length);
      for (const [k, v] of command.pairs) {
        bytes(k);
        bytes(v);
      }
      break;
    case "del":
      pos = putUvarint(out, pos, command.keys.length);
      for (const k of command.keys) bytes(k);
      break;
    case "incrby":
      new DataView(out.buffer, out.byteOffset + pos, 8).setBigInt64(0, command.by, true);
      pos += 8;
      bytes(command.key);
      break;
    case "push":
      out[pos++] = command.end === "left" ? 0 : 1;
      bytes(command.key);
      pos = putUvarint(out, pos, command.values.length);
      for (const v of command.values) bytes(v);
      break;
    case "pop":
      out[pos++] = command.end === "left" ? 0 : 1;
      bytes(command.key);
      break;
    case "member-addresses": {
      pos = putUvarint(out, pos, command.id);
      out[pos++] =
        (command.addresses.resp !== undefined ? 1 : 0) |
        (command.addresses.http !== undefined ? 2 : 0) |
        (command.addresses.raft !== undefined ? 4 : 0);
      for (const b of memberAddressBytes(command)) bytes(b);
      break;
    }
    case "forget-member":
      pos = putUvarint(out, pos, command.id);
      break;
  }
  if (pos !== out.length) throw new Error(`encodeCommand: wrote ${pos} of ${out.length} bytes`);
  return out;
}

/** Reads one entry's command; throws MalformedProposalError saying what is wrong. */
class Reader {
  private readonly cur: VarintCursor = { value: 0, pos: FIXED_HEADER + 1 };
  constructor(private readonly data: Uint8Array) {}

  u8(what: string): number {
    if (this.cur.pos >= this.data.length) throw new MalformedProposalError(`${what} is missing`);
    return this.data[this.cur.pos++]!;
  }

  varint(what: string): number {
    try {
      readVarint(this.data, this.cur);
    } catch (err) {
      throw new MalformedProposalError(`${what}: ${(err as Error).message}`);
    }
    return this.cur.value;
  }

  /** A count of items that each take at least one byte: a larger count is damage. */
  count(what: string): number {
    const n = this.varint(what);
    if (n > this.data.length - this.cur.pos) {
      throw new MalformedProposalError(`${what} ${n} exceeds the remaining bytes`);
    }
    return n;
  }

  bytes(what: string): Uint8Array {
    const n = this.varint(`${what} length`);
    const start = this.cur.pos;
    if (start + n > this.data.length) {
      throw new MalformedProposalError(`${what} of ${n} bytes runs past the end`);
    }
    this.cur.pos += n;
    return this.data.subarray(start, start + n);
  }

  i64(what: string): bigint {
    const start = this.cur.pos;
    if (start + 8 > this.data.length) throw new MalformedProposalError(`${what} is truncated`);
    this.cur.pos += 8;
    return new DataView(this.data.buffer, this.data.byteOffset + start, 8).getBigInt64(0, true);
  }

  end(): "left" | "right" {
    const e = this.u8("list end");
    if (e > 1) throw new MalformedProposalError(`list end ${e} is neither 0 (left) nor 1 (right)`);
    return e === 0 ? "left" : "right";
  }

  rest(): Uint8Array {
    const start = this.cur.pos;
    this.cur.pos = this.data.length;
    return this.data.subarray(start);
  }

  done(): void {
    if (this.cur.pos !== this.data.length) {
      throw new MalformedProposalError(`${this.data.length - this.cur.pos} trailing bytes`);
    }
  }
}

function decodeKvWrite(op: number, r: Reader): KvWrite {
  switch (op) {
    case OP.set: {
      const c = r.u8("set condition");
      if (c > 2) throw new MalformedProposalError(`set condition ${c} is not 0, 1 or 2`);
      const key = r.bytes("key");
      const value = r.rest();
      if (c === CONDITION.none) return { op: "set", key, value };
      return { op: "set", key, value, condition: c === CONDITION.nx ? "nx" : "xx" };
    }
    case OP.mset: {
      const n = r.count("pair count");
      const pairs: [Uint8Array, Uint8Array][] = new Array(n);
      for (let i = 0; i < n; i++) {
        const k = r.bytes("key");
        pairs[i] = [k, r.bytes("value")];
      }
      return { op: "mset", pairs };
    }
    case OP.del: {
      const n = r.count("key count");
      const keys: Uint8Array[] = new Array(n);
      for (let i = 0; i < n; i++) keys[i] = r.bytes("key");
      return { op: "del", keys };
    }
    case OP.incrby: {
      const by = r.i64("increment");
      return { op: "incrby", key: r.bytes("key"), by };
    }
    case OP.push: {
      const end = r.end();
      const key = r.bytes("key");
      const n = r.count("value count");
      const values: Uint8Array[] = new Array(n);
      for (let i = 0; i < n; i++) values[i] = r.bytes("value");
      return { op: "push", key, values, end };
    }
    case OP.pop: {
      const end = r.end();
      return { op: "pop", key: r.bytes("key"), end };
    }
    default:
      throw new MalformedProposalError(`command op ${op} is unknown`);
  }
}

function decodeMemberWrite(op: number, r: Reader): MemberWrite {
  const address = (what: string): string => {
    try {
      return utf8Decoder.decode(r.bytes(what));
    } catch (err) {
      if (err instanceof MalformedProposalError) throw err;
      throw new MalformedProposalError(`${what} is not UTF-8`);
    }
  };
  switch (op) {
    case OP["member-addresses"]: {
      const id = r.varint("member id");
      const present = r.u8("address flags");
      if (present > 7) throw new MalformedProposalError(`address flags ${present} are unknown`);
      const addresses: MemberAddresses = {};
      if (present & 1) addresses.resp = address("resp address");
      if (present & 2) addresses.http = address("http address");
      if (present & 4) addresses.raft = address("raft address");
      return { op: "member-addresses", id, addresses };
    }
    case OP["forget-member"]:
      return { op: "forget-member", id: r.varint("member id") };
    default:
      throw new MalformedProposalError(`member op ${op} is unknown`);
  }
}

/** Decodes a command entry (kind 2 or 3). */
export function decodeCommand(data: Uint8Array): DecodedCommand {
  if (data.length < FIXED_HEADER + 1) {
    throw new MalformedProposalError(
      `${data.length} bytes is shorter than the ${FIXED_HEADER + 1}-byte command header`,
    );
  }
  const kind = data[0];
  if (kind !== COMMAND_KIND && kind !== MEMBER_KIND) {
    throw new MalformedProposalError(`kind ${kind} is not a command`);
  }
  const id = readId(data);
  const r = new Reader(data);
  const op = data[FIXED_HEADER]!;
  const command = kind === COMMAND_KIND ? decodeKvWrite(op, r) : decodeMemberWrite(op, r);
  r.done();
  return { id, command };
}
