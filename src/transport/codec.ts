// The wire codec of a transport batch: the protobuf encoding of `RaftBatch`
// (proto/transport.proto), written and read by hand.
//
// Why by hand: going through proto-loader/protobufjs costs ~650 ns per entry to encode
// (fromObject + encode) and ~430 ns to decode (decode + toObject), where writing the bytes
// straight into one pre-sized buffer costs ~50-80 ns (FACTS.md). The encoder measures the
// whole batch first, allocates once, then writes; the decoder hands out entry data as views
// of the received buffer instead of copies. The output stays plain protobuf, so any
// protobuf tool can read it (the tests check this against protobufjs).
//
// Every uint64 field is a JavaScript number: the encoder rejects anything that is not a
// non-negative safe integer, and the decoder rejects values above Number.MAX_SAFE_INTEGER.
// The local-only Message fields (vote, responses) are never written.
import type {
  ConfState,
  Entry,
  EntryType,
  Message,
  MessageType,
  Snapshot,
  SnapshotMetadata,
} from "../raft/types.js";
import { EMPTY_BYTES } from "../raft/types.js";
import type { Epoch, InboundBatch } from "./transport.js";

/** Malformed bytes on the wire, or a value the wire cannot carry. */
export class WireFormatError extends Error {
  override name = "WireFormatError";
}

// One-byte tags: (field number << 3) | wire type; 0 = varint, 2 = length-delimited.
const TAG_BATCH_EPOCH = 0x0a;
const TAG_BATCH_FROM = 0x10;
const TAG_BATCH_MESSAGES = 0x1a;

const TAG_EPOCH_START = 0x08;
const TAG_EPOCH_ITERATION = 0x10;

const TAG_MSG_TYPE = 0x08;
const TAG_MSG_TO = 0x10;
const TAG_MSG_FROM = 0x18;
const TAG_MSG_TERM = 0x20;
const TAG_MSG_LOG_TERM = 0x28;
const TAG_MSG_INDEX = 0x30;
const TAG_MSG_ENTRIES = 0x3a;
const TAG_MSG_COMMIT = 0x40;
const TAG_MSG_SNAPSHOT = 0x4a;
const TAG_MSG_REJECT = 0x50;
const TAG_MSG_REJECT_HINT = 0x58;
const TAG_MSG_CONTEXT = 0x62;

const TAG_ENTRY_TERM = 0x08;
const TAG_ENTRY_INDEX = 0x10;
const TAG_ENTRY_TYPE = 0x18;
const TAG_ENTRY_DATA = 0x22;

const TAG_SNAP_DATA = 0x0a;
const TAG_SNAP_METADATA = 0x12;
const TAG_META_CONF_STATE = 0x0a;
const TAG_META_INDEX = 0x10;
const TAG_META_TERM = 0x18;
const FIELD_CONF_VOTERS = 1;
const FIELD_CONF_LEARNERS = 2;
const TAG_CONF_VOTERS_PACKED = 0x0a;
const TAG_CONF_LEARNERS_PACKED = 0x12;

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;
const WIRE_FIXED32 = 5;

// ---------------------------------------------------------------------------------------
// Sizes

/** Bytes of the varint encoding of `n`; throws unless `n` is a non-negative safe integer. */
function uintSize(n: number, field: string): number {
  if (n >>> 0 === n) {
    return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
  }
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new WireFormatError(
      `cannot encode ${field}=${n}: it must be a non-negative safe integer (uint64 on the wire)`,
    );
  }
  // 2^32 <= n < 2^53: five to eight bytes.
  return n < 2 ** 35 ? 5 : n < 2 ** 42 ? 6 : n < 2 ** 49 ? 7 : 8;
}

/** Bytes of an optional varint field: proto3 omits zero. */
function uintFieldSize(n: number, field: string): number {
  return n === 0 ? 0 : 1 + uintSize(n, field);
}

/** Bytes of a length-delimited field whose payload is `len` bytes (one-byte tag). */
function lenFieldSize(len: number): number {
  return 1 + uintSize(len, "length") + len;
}

function entrySize(e: Entry): number {
  const dataLen = e.data.length;
  return (
    uintFieldSize(e.term, "entry.term") +
    uintFieldSize(e.index, "entry.index") +
    uintFieldSize(e.type, "entry.type") +
    (dataLen === 0 ? 0 : lenFieldSize(dataLen))
  );
}

function packedSize(values: readonly number[], field: string): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) n += uintSize(values[i]!, field);
  return n;
}

function confStateSize(cs: ConfState): number {
  let n = 0;
  if (cs.voters.length > 0) n += lenFieldSize(packedSize(cs.voters, "confState.voters"));
  if (cs.learners.length > 0) n += lenFieldSize(packedSize(cs.learners, "confState.learners"));
  return n;
}

function metadataSize(md: SnapshotMetadata): number {
  return (
    lenFieldSize(confStateSize(md.confState)) +
    uintFieldSize(md.index, "snapshot.index") +
    uintFieldSize(md.term, "snapshot.term")
  );
}

function snapshotSize(s: Snapshot): number {
  const dataLen = s.data.length;
  return (dataLen === 0 ? 0 : lenFieldSize(dataLen)) + lenFieldSize(metadataSize(s.metadata));
}

// The encoded entries of the last MsgApp written. A leader usually sends every follower the
// same entries (slices of one log, sharing the Entry objects), and one send encodes one batch
// per destination: the second destination copies the bytes instead of encoding each entry
// again. Entries are immutable and a log slice is contiguous, so the same first and last
// Entry objects and the same count mean the same entries. The bytes are a view of a batch
// already handed out, which nobody writes to.
const MIN_CACHED_ENTRIES = 4;
const shared: {
  first: Entry | undefined;
  last: Entry | undefined;
  count: number;
  bytes: Uint8Array;
} = { first: undefined, last: undefined, count: 0, bytes: new Uint8Array(0) };

// Entries written by the batch being encoded; they replace the cache only once the batch
// is done, so the size pass and the write pass of one batch see the same cache.
const written: { entries: readonly Entry[] | undefined; bytes: Uint8Array } = {
  entries: undefined,
  bytes: shared.bytes,
};

function rememberWrittenEntries(): void {
  const entries = written.entries;
  if (entries === undefined) return;
  shared.first = entries[0];
  shared.last = entries[entries.length - 1];
  shared.count = entries.length;
  shared.bytes = written.bytes;
  written.entries = undefined;
}

function cachedEntries(entries: readonly Entry[]): Uint8Array | undefined {
  // Writing parts, entry data stays out of the batch buffer: there is no contiguous copy.
  if (parts !== undefined) return undefined;
  const n = entries.length;
  if (n !== shared.count || n === 0) return undefined;
  if (entries[0] !== shared.first || entries[n - 1] !== shared.last) return undefined;
  return shared.bytes;
}

// Sizes of the batch being encoded, kept between the size pass and the write pass so each
// is computed once: one slot per message, one per entry.
let messageSizes = new Float64Array(64);
let entrySizes = new Float64Array(4096);

function reserveEntrySizes(n: number): void {
  if (entrySizes.length < n) entrySizes = new Float64Array(Math.max(n, entrySizes.length * 2));
}

/** Bytes of one Message's body; records its entries' sizes from `entrySlot` on. */
function messageSize(m: Message, entrySlot: number): number {
  let n =
    uintFieldSize(m.type, "message.type") +
    uintFieldSize(m.to, "message.to") +
    uintFieldSize(m.from, "message.from") +
    uintFieldSize(m.term, "message.term") +
    uintFieldSize(m.logTerm, "message.logTerm") +
    uintFieldSize(m.index, "message.index") +
    uintFieldSize(m.commit, "message.commit") +
    uintFieldSize(m.rejectHint, "message.rejectHint") +
    (m.reject ? 2 : 0);
  const entries = m.entries;
  const cached = cachedEntries(entries);
  if (cached !== undefined) {
    n += cached.length;
  } else {
    const sizes = entrySizes;
    for (let i = 0; i < entries.length; i++) {
      const size = entrySize(entries[i]!);
      sizes[entrySlot + i] = size;
      n += 1 + uintSize(size, "length") + size;
    }
  }
  if (m.snapshot !== undefined) n += lenFieldSize(snapshotSize(m.snapshot));
  if (m.context.length > 0) n += lenFieldSize(m.context.length);
  return n;
}

function epochSize(epoch: Epoch): number {
  return (
    uintFieldSize(epoch.start, "epoch.start") + uintFieldSize(epoch.iteration, "epoch.iteration")
  );
}

// ---------------------------------------------------------------------------------------
// Writing: each function writes at `pos` and returns the position after what it wrote.
// The size pass has already checked every value.

function putUint(buf: Uint8Array, pos: number, n: number): number {
  while (n > 0x7fffffff) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

function putUintField(buf: Uint8Array, pos: number, tag: number, n: number): number {
  if (n === 0) return pos;
  buf[pos] = tag;
  return putUint(buf, pos + 1, n);
}

function putBytesField(buf: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  const len = bytes.length;
  if (len === 0) return pos;
  buf[pos] = tag;
  pos = putUint(buf, pos + 1, len);
  buf.set(bytes, pos);
  return pos + len;
}

function putPacked(buf: Uint8Array, pos: number, tag: number, values: readonly number[]): number {
  if (values.length === 0) return pos;
  buf[pos] = tag;
  pos = putUint(buf, pos + 1, packedSize(values, "packed"));
  for (let i = 0; i < values.length; i++) pos = putUint(buf, pos, values[i]!);
  return pos;
}

function putEntries(buf: Uint8Array, pos: number, entries: readonly Entry[], slot: number): number {
  if (entries.length === 0) return pos;
  const cached = cachedEntries(entries);
  if (cached !== undefined) {
    buf.set(cached, pos);
    return pos + cached.length;
  }
  const start = pos;
  pos = writeEntries(buf, pos, entries, slot);
  if (entries.length >= MIN_CACHED_ENTRIES && parts === undefined) {
    written.entries = entries;
    written.bytes = buf.subarray(start, pos);
  }
  return pos;
}

function writeEntries(
  buf: Uint8Array,
  pos: number,
  entries: readonly Entry[],
  slot: number,
): number {
  const sizes = entrySizes;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    buf[pos] = TAG_MSG_ENTRIES;
    pos = putUint(buf, pos + 1, sizes[slot + i]!);
    pos = putUintField(buf, pos, TAG_ENTRY_TERM, e.term);
    pos = putUintField(buf, pos, TAG_ENTRY_INDEX, e.index);
    pos = putUintField(buf, pos, TAG_ENTRY_TYPE, e.type);
    if (parts !== undefined && e.data.length >= parts.minShared) {
      // The data itself becomes a part of its own: written out by reference, not copied.
      buf[pos] = TAG_ENTRY_DATA;
      pos = putUint(buf, pos + 1, e.data.length);
      parts.out.push(buf.subarray(parts.segmentStart, pos), e.data);
      parts.segmentStart = pos;
      continue;
    }
    pos = putBytesField(buf, pos, TAG_ENTRY_DATA, e.data);
  }
  return pos;
}

function putSnapshot(buf: Uint8Array, pos: number, s: Snapshot): number {
  buf[pos] = TAG_MSG_SNAPSHOT;
  pos = putUint(buf, pos + 1, snapshotSize(s));
  pos = putBytesField(buf, pos, TAG_SNAP_DATA, s.data);
  const md = s.metadata;
  buf[pos] = TAG_SNAP_METADATA;
  pos = putUint(buf, pos + 1, metadataSize(md));
  buf[pos] = TAG_META_CONF_STATE;
  pos = putUint(buf, pos + 1, confStateSize(md.confState));
  pos = putPacked(buf, pos, TAG_CONF_VOTERS_PACKED, md.confState.voters);
  pos = putPacked(buf, pos, TAG_CONF_LEARNERS_PACKED, md.confState.learners);
  pos = putUintField(buf, pos, TAG_META_INDEX, md.index);
  return putUintField(buf, pos, TAG_META_TERM, md.term);
}

function putMessage(buf: Uint8Array, pos: number, m: Message, size: number, slot: number): number {
  buf[pos] = TAG_BATCH_MESSAGES;
  pos = putUint(buf, pos + 1, size);
  pos = putUintField(buf, pos, TAG_MSG_TYPE, m.type);
  pos = putUintField(buf, pos, TAG_MSG_TO, m.to);
  pos = putUintField(buf, pos, TAG_MSG_FROM, m.from);
  pos = putUintField(buf, pos, TAG_MSG_TERM, m.term);
  pos = putUintField(buf, pos, TAG_MSG_LOG_TERM, m.logTerm);
  pos = putUintField(buf, pos, TAG_MSG_INDEX, m.index);
  pos = putEntries(buf, pos, m.entries, slot);
  pos = putUintField(buf, pos, TAG_MSG_COMMIT, m.commit);
  if (m.snapshot !== undefined) pos = putSnapshot(buf, pos, m.snapshot);
  if (m.reject) {
    buf[pos++] = TAG_MSG_REJECT;
    buf[pos++] = 1;
  }
  pos = putUintField(buf, pos, TAG_MSG_REJECT_HINT, m.rejectHint);
  return putBytesField(buf, pos, TAG_MSG_CONTEXT, m.context);
}

/**
 * Encodes one batch as the protobuf bytes of `RaftBatch`. The header (epoch, from) always
 * comes first, so batches with the same header can be joined (see `concatBatches`).
 * Returns a Node Buffer (a Uint8Array) so gRPC can send it without another copy.
 */
export function encodeBatch(epoch: Epoch, from: number, messages: readonly Message[]): Uint8Array {
  return encodeInto(epoch, from, messages, 0);
}

// While encodeBatchParts runs: where the parts go, and the start of the current segment of
// the batch buffer (bytes written since the last part was cut).
let parts: { out: Uint8Array[]; minShared: number; segmentStart: number } | undefined;

/**
 * The bytes of `encodeBatch` as a list of parts whose concatenation is exactly those
 * bytes, for a writer that can gather (one writev): entry data of at least `minShared`
 * bytes is not copied into the batch but handed out as a part of its own, the caller's
 * own array, which must not change until written. With no entry that large, it is one
 * part, the same as encodeBatch. Returns the parts and their total length.
 */
export function encodeBatchParts(
  epoch: Epoch,
  from: number,
  messages: readonly Message[],
  minShared: number,
): { parts: Uint8Array[]; length: number } {
  let shared = 0;
  for (let i = 0; i < messages.length; i++) {
    const entries = messages[i]!.entries;
    for (let k = 0; k < entries.length; k++) {
      const len = entries[k]!.data.length;
      if (len >= minShared) shared += len;
    }
  }
  if (shared === 0) {
    const bytes = encodeBatch(epoch, from, messages);
    return { parts: [bytes], length: bytes.length };
  }
  parts = { out: [], minShared, segmentStart: 0 };
  try {
    const buf = encodeInto(epoch, from, messages, shared);
    const out = parts.out;
    if (parts.segmentStart < buf.length) out.push(buf.subarray(parts.segmentStart));
    return { parts: out, length: buf.length + shared };
  } finally {
    parts = undefined;
  }
}

/** Encodes into one buffer `external` bytes shorter than the batch (data left to parts). */
function encodeInto(
  epoch: Epoch,
  from: number,
  messages: readonly Message[],
  external: number,
): Uint8Array {
  if (messageSizes.length < messages.length) {
    messageSizes = new Float64Array(Math.max(messages.length, messageSizes.length * 2));
  }
  let entryCount = 0;
  for (let i = 0; i < messages.length; i++) entryCount += messages[i]!.entries.length;
  reserveEntrySizes(entryCount);

  const epochLen = epochSize(epoch);
  let total = 1 + uintSize(epochLen, "length") + epochLen + uintFieldSize(from, "batch.from");
  let slot = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const size = messageSize(m, slot);
    slot += m.entries.length;
    messageSizes[i] = size;
    total += lenFieldSize(size);
  }

  const size = total - external;
  const out = Buffer.allocUnsafe(size);
  // Stores into a plain Uint8Array view are cheaper than into the Buffer subclass.
  const buf = new Uint8Array(out.buffer, out.byteOffset, size);
  buf[0] = TAG_BATCH_EPOCH;
  let pos = putUint(buf, 1, epochLen);
  pos = putUintField(buf, pos, TAG_EPOCH_START, epoch.start);
  pos = putUintField(buf, pos, TAG_EPOCH_ITERATION, epoch.iteration);
  pos = putUintField(buf, pos, TAG_BATCH_FROM, from);
  slot = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    pos = putMessage(buf, pos, m, messageSizes[i]!, slot);
    slot += m.entries.length;
  }
  rememberWrittenEntries();
  if (pos !== size) {
    throw new Error(`encodeBatch wrote ${pos} bytes into a buffer sized ${size}`);
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// Reading

class Reader {
  constructor(
    readonly buf: Uint8Array,
    public pos: number,
    public end: number,
  ) {}

  fail(what: string): never {
    throw new WireFormatError(`malformed RaftBatch: ${what} at byte ${this.pos}`);
  }

  /** Reads a varint; rejects values above Number.MAX_SAFE_INTEGER. */
  uint(): number {
    const buf = this.buf;
    const end = this.end;
    let pos = this.pos;
    if (pos < end) {
      const b = buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (pos >= end) this.fail("truncated varint");
      const b = buf[pos++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        this.pos = pos;
        if (result > Number.MAX_SAFE_INTEGER) {
          throw new WireFormatError(
            `malformed RaftBatch: value ${result} at byte ${pos} exceeds Number.MAX_SAFE_INTEGER`,
          );
        }
        return result;
      }
      scale *= 0x80;
    }
    this.pos = pos;
    return this.fail("varint longer than 10 bytes");
  }

  /** Reads a length prefix and returns the end of the field's payload. */
  lenEnd(): number {
    const len = this.uint();
    const end = this.pos + len;
    if (end > this.end) this.fail(`length ${len} past the end of its message`);
    return end;
  }

  /** Skips a field this decoder does not read, as protobuf requires. */
  skip(tag: number): void {
    switch (tag & 7) {
      case WIRE_VARINT:
        this.uint();
        return;
      case WIRE_FIXED64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.pos = this.lenEnd();
        return;
      case WIRE_FIXED32:
        this.advance(4);
        return;
      default:
        this.fail(`unsupported wire type ${tag & 7} (field ${tag >>> 3})`);
    }
  }

  private advance(n: number): void {
    if (this.pos + n > this.end) this.fail("truncated fixed-width field");
    this.pos += n;
  }

  /** A view of the next `len`-prefixed bytes; no copy. */
  bytes(): Uint8Array {
    const end = this.lenEnd();
    const start = this.pos;
    this.pos = end;
    return end === start ? EMPTY_BYTES : this.buf.subarray(start, end);
  }
}

function readEntry(r: Reader, end: number): Entry {
  const e: Entry = { term: 0, index: 0, type: 0, data: EMPTY_BYTES };
  while (r.pos < end) {
    const tag = r.uint();
    switch (tag) {
      case TAG_ENTRY_TERM:
        e.term = r.uint();
        break;
      case TAG_ENTRY_INDEX:
        e.index = r.uint();
        break;
      case TAG_ENTRY_TYPE:
        e.type = r.uint() as EntryType;
        break;
      case TAG_ENTRY_DATA:
        e.data = r.bytes();
        break;
      default:
        r.skip(tag);
    }
  }
  return e;
}

/** Reads a repeated uint64 element, packed (wire type 2) or not (wire type 0). */
function readRepeatedUint(r: Reader, tag: number, into: number[]): void {
  if ((tag & 7) === WIRE_VARINT) {
    into.push(r.uint());
    return;
  }
  const end = r.lenEnd();
  const outer = r.end;
  r.end = end;
  while (r.pos < end) into.push(r.uint());
  r.end = outer;
}

function readConfState(r: Reader, end: number): ConfState {
  const cs: ConfState = { voters: [], learners: [] };
  while (r.pos < end) {
    const tag = r.uint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === FIELD_CONF_VOTERS && (wire === WIRE_LEN || wire === WIRE_VARINT)) {
      readRepeatedUint(r, tag, cs.voters);
    } else if (field === FIELD_CONF_LEARNERS && (wire === WIRE_LEN || wire === WIRE_VARINT)) {
      readRepeatedUint(r, tag, cs.learners);
    } else {
      r.skip(tag);
    }
  }
  return cs;
}

function readMetadata(r: Reader, end: number): SnapshotMetadata {
  const md: SnapshotMetadata = { confState: { voters: [], learners: [] }, index: 0, term: 0 };
  while (r.pos < end) {
    const tag = r.uint();
    switch (tag) {
      case TAG_META_CONF_STATE:
        md.confState = readConfState(r, r.lenEnd());
        break;
      case TAG_META_INDEX:
        md.index = r.uint();
        break;
      case TAG_META_TERM:
        md.term = r.uint();
        break;
      default:
        r.skip(tag);
    }
  }
  return md;
}

function readSnapshot(r: Reader, end: number): Snapshot {
  const s: Snapshot = {
    data: EMPTY_BYTES,
    metadata: { confState: { voters: [], learners: [] }, index: 0, term: 0 },
  };
  while (r.pos < end) {
    const tag = r.uint();
    switch (tag) {
      case TAG_SNAP_DATA:
        s.data = r.bytes();
        break;
      case TAG_SNAP_METADATA:
        s.metadata = readMetadata(r, r.lenEnd());
        break;
      default:
        r.skip(tag);
    }
  }
  return s;
}

function readMessage(r: Reader, end: number): Message {
  // Same property order as makeMessage, so decoded messages share its object shape.
  const m: Message = {
    type: 0,
    to: 0,
    from: 0,
    term: 0,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    snapshot: undefined,
    reject: false,
    rejectHint: 0,
    context: EMPTY_BYTES,
    vote: 0,
    responses: undefined,
  };
  while (r.pos < end) {
    const tag = r.uint();
    switch (tag) {
      case TAG_MSG_TYPE:
        m.type = r.uint() as MessageType;
        break;
      case TAG_MSG_TO:
        m.to = r.uint();
        break;
      case TAG_MSG_FROM:
        m.from = r.uint();
        break;
      case TAG_MSG_TERM:
        m.term = r.uint();
        break;
      case TAG_MSG_LOG_TERM:
        m.logTerm = r.uint();
        break;
      case TAG_MSG_INDEX:
        m.index = r.uint();
        break;
      case TAG_MSG_ENTRIES:
        m.entries.push(readEntry(r, r.lenEnd()));
        break;
      case TAG_MSG_COMMIT:
        m.commit = r.uint();
        break;
      case TAG_MSG_SNAPSHOT:
        m.snapshot = readSnapshot(r, r.lenEnd());
        break;
      case TAG_MSG_REJECT:
        m.reject = r.uint() !== 0;
        break;
      case TAG_MSG_REJECT_HINT:
        m.rejectHint = r.uint();
        break;
      case TAG_MSG_CONTEXT:
        m.context = r.bytes();
        break;
      default:
        r.skip(tag);
    }
  }
  return m;
}

function readEpoch(r: Reader, end: number, into: Epoch): void {
  while (r.pos < end) {
    const tag = r.uint();
    if (tag === TAG_EPOCH_START) into.start = r.uint();
    else if (tag === TAG_EPOCH_ITERATION) into.iteration = r.uint();
    else r.skip(tag);
  }
}

/**
 * Decodes the protobuf bytes of one `RaftBatch`. Entry data, snapshot data and contexts
 * are views of `bytes`, not copies: `bytes` must not be reused while they are alive.
 * Throws WireFormatError on malformed input or a value above Number.MAX_SAFE_INTEGER.
 */
export function decodeBatch(bytes: Uint8Array): InboundBatch {
  // Views cut from a plain Uint8Array cost a third of those cut from a Node Buffer.
  const view =
    Object.getPrototypeOf(bytes) === Uint8Array.prototype
      ? bytes
      : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  const r = new Reader(view, 0, view.length);
  const batch: InboundBatch = { epoch: { start: 0, iteration: 0 }, from: 0, messages: [] };
  while (r.pos < r.end) {
    const tag = r.uint();
    switch (tag) {
      case TAG_BATCH_EPOCH:
        // A repeated singular message field merges into the earlier one (protobuf rule).
        readEpoch(r, r.lenEnd(), batch.epoch);
        break;
      case TAG_BATCH_FROM:
        batch.from = r.uint();
        break;
      case TAG_BATCH_MESSAGES:
        batch.messages.push(readMessage(r, r.lenEnd()));
        break;
      default:
        r.skip(tag);
    }
  }
  return batch;
}

// ---------------------------------------------------------------------------------------
// Joining encoded batches

/** Length of the header (epoch and from) that `encodeBatch` writes before the messages. */
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

// ---------------------------------------------------------------------------------------
// Transport-level pings over gRPC

// Field 15 of RaftBatch (a ping) and of BatchAck (its pong), wire type 1 (64-bit): the
// pinger's performance.now() as a double. A ping carries no messages, so a receiver that
// does not know the field reads it as an empty batch.
const TAG_PING = (15 << 3) | WIRE_FIXED64;
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
