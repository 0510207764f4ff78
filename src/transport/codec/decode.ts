// The decoding half of the wire codec: the protobuf bytes of one `RaftBatch` to a Message
// batch, read by hand.
//
// Why by hand: protobufjs costs ~430 ns per entry to decode (decode + toObject); reading
// the bytes directly, entry data handed out as views of the received buffer instead of
// copies, costs a fraction of that (FACTS.md). Any protobuf writer's output decodes (the
// tests check protobufjs's): unknown fields are skipped, packed and unpacked repeated
// fields both read. The decoder rejects values above Number.MAX_SAFE_INTEGER. It keeps no
// state between calls.
import type {
  ConfState,
  Entry,
  EntryType,
  Message,
  MessageType,
  Snapshot,
  SnapshotMetadata,
} from "../../raft/types.js";
import { EMPTY_BYTES } from "../../raft/types.js";
import {
  type ReadPosition,
  readUvarint,
  VARINT_TRUNCATED,
  WIRE_VARINT_MAX_BYTES,
} from "../../units/varint.js";
import { WireFormatError } from "../errors.js";
import type { Epoch, InboundBatch } from "../transport.js";
import {
  FIELD_CONF_LEARNERS,
  FIELD_CONF_VOTERS,
  TAG_BATCH_EPOCH,
  TAG_BATCH_FROM,
  TAG_BATCH_MESSAGES,
  TAG_ENTRY_DATA,
  TAG_ENTRY_INDEX,
  TAG_ENTRY_TERM,
  TAG_ENTRY_TYPE,
  TAG_EPOCH_ITERATION,
  TAG_EPOCH_START,
  TAG_META_CONF_STATE,
  TAG_META_INDEX,
  TAG_META_TERM,
  TAG_MSG_COMMIT,
  TAG_MSG_CONTEXT,
  TAG_MSG_ENTRIES,
  TAG_MSG_FROM,
  TAG_MSG_INDEX,
  TAG_MSG_LOG_TERM,
  TAG_MSG_REJECT,
  TAG_MSG_REJECT_HINT,
  TAG_MSG_SNAPSHOT,
  TAG_MSG_TERM,
  TAG_MSG_TO,
  TAG_MSG_TYPE,
  TAG_SNAP_DATA,
  TAG_SNAP_METADATA,
  WIRE_FIXED32,
  WIRE_FIXED64,
  WIRE_LEN,
  WIRE_VARINT,
} from "./tags.js";

/**
 * A cursor over protobuf bytes, bounded by `end` (the end of the field being read). The
 * bytes are one buffer, or a frame as it arrived in several chunks (the TCP transport),
 * read where they lie instead of being joined first. Positions count from the start of the
 * first chunk; `buf` is the chunk last read and `base` the position of its first byte. The
 * cursor only moves forward, so it catches up with `pos` lazily, on the next read.
 */
export class Reader {
  private buf: Uint8Array;
  private base = 0;
  private chunk = 0;
  private readonly chunks: readonly Uint8Array[];
  /** Scratch for longUint: a position within one array, and a varint's bytes cut by a chunk end. */
  private readonly local: ReadPosition = { pos: 0 };
  private scratch: Uint8Array | undefined;

  constructor(
    bytes: Uint8Array | readonly Uint8Array[],
    public pos: number,
    public end: number,
  ) {
    this.chunks = bytes instanceof Uint8Array ? [bytes] : bytes;
    this.buf = this.chunks[0] ?? EMPTY_BYTES;
  }

  fail(what: string, at = this.pos): never {
    throw new WireFormatError("malformed-batch", `malformed RaftBatch: ${what} at byte ${at}`);
  }

  /** Reads a varint (up to protobuf's 10 bytes); rejects values above Number.MAX_SAFE_INTEGER. */
  uint(): number {
    const pos = this.pos;
    const i = pos - this.base;
    const buf = this.buf;
    if (pos < this.end && i < buf.length) {
      const b = buf[i]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    return this.longUint();
  }

  /**
   * A varint of more than one byte, or one not in the chunk last read. The shared varint
   * reader reads it from the chunk itself when it cannot run past the chunk's end, else
   * from a copy of its (at most 10) bytes.
   */
  private longUint(): number {
    const start = this.pos;
    if (start >= this.end) return this.fail("truncated varint");
    const i = this.indexOf(start);
    const limit = Math.min(this.end - this.base, i + WIRE_VARINT_MAX_BYTES);
    let value: number;
    if (limit <= this.buf.length) {
      this.local.pos = i;
      value = readUvarint(this.buf, this.local, limit, WIRE_VARINT_MAX_BYTES);
      this.pos = this.base + this.local.pos;
    } else {
      const n = this.copyAhead(start, Math.min(this.end - start, WIRE_VARINT_MAX_BYTES));
      this.local.pos = 0;
      value = readUvarint(this.scratch!, this.local, n, WIRE_VARINT_MAX_BYTES);
      this.pos = start + this.local.pos;
    }
    if (value > Number.MAX_SAFE_INTEGER) {
      throw new WireFormatError(
        "unsafe-integer",
        `malformed RaftBatch: value ${value} at byte ${this.pos} exceeds Number.MAX_SAFE_INTEGER`,
      );
    }
    if (value >= 0) return value;
    return this.fail(
      value === VARINT_TRUNCATED ? "truncated varint" : "varint longer than 10 bytes",
    );
  }

  /**
   * Copies the `n` bytes from `start` (in the current chunk, all below `end`) into the
   * scratch array, leaving the current chunk as it is: the bytes after the varint are read
   * from the chunks again.
   */
  private copyAhead(start: number, n: number): number {
    this.scratch ??= new Uint8Array(WIRE_VARINT_MAX_BYTES);
    let chunk = this.chunk;
    let base = this.base;
    for (let k = 0; k < n; k++) {
      while (start + k - base >= this.chunks[chunk]!.length) {
        base += this.chunks[chunk]!.length;
        chunk++;
      }
      this.scratch[k] = this.chunks[chunk]![start + k - base]!;
    }
    return n;
  }

  /** Makes the chunk holding position `at` the current one; returns `at` within it. */
  private indexOf(at: number): number {
    while (at - this.base >= this.buf.length) {
      const next = this.chunks[this.chunk + 1];
      // `end` never passes the bytes given, so a position below it lies in some chunk.
      if (next === undefined) this.fail("position past the last chunk", at);
      this.base += this.buf.length;
      this.chunk++;
      this.buf = next;
    }
    return at - this.base;
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

  /**
   * The next `len`-prefixed bytes: a view (no copy) when they lie in one chunk, else a copy
   * of their pieces (only a field cut by a chunk boundary).
   */
  bytes(): Uint8Array {
    const end = this.lenEnd();
    const start = this.pos;
    this.pos = end;
    if (end === start) return EMPTY_BYTES;
    let from = start - this.base;
    // Moving on to the next chunk and copying are the rare cases: kept out of line.
    if (from >= this.buf.length) from = this.indexOf(start);
    const to = end - this.base;
    if (to <= this.buf.length) return this.buf.subarray(from, to);
    return this.gather(from, end - start);
  }

  /** Copies `length` bytes from `from` in the current chunk on, across chunks. */
  private gather(from: number, length: number): Uint8Array {
    // Every byte is about to be written: skip the zero-fill (a whole entry's data).
    const raw = Buffer.allocUnsafeSlow(length);
    const out = new Uint8Array(raw.buffer, raw.byteOffset, length);
    let at = 0;
    let i = from;
    for (;;) {
      const take = Math.min(this.buf.length - i, length - at);
      out.set(this.buf.subarray(i, i + take), at);
      at += take;
      if (at === length) return out;
      this.indexOf(this.base + this.buf.length);
      i = 0;
    }
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

/** `bytes` as a plain Uint8Array: views cut from one cost a third of those cut from a Buffer. */
function plain(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
}

/**
 * Decodes the protobuf bytes of one `RaftBatch`, given as one buffer or as the chunks it
 * arrived in, in order. Entry data, snapshot data and contexts are views of those bytes,
 * not copies (a field cut by a chunk boundary is the one exception): the bytes must not be
 * reused while they are alive. Throws WireFormatError on malformed input or a value above
 * Number.MAX_SAFE_INTEGER.
 */
export function decodeBatch(bytes: Uint8Array | readonly Uint8Array[]): InboundBatch {
  let r: Reader;
  if (bytes instanceof Uint8Array) {
    const view = plain(bytes);
    r = new Reader(view, 0, view.length);
  } else {
    const chunks = bytes.map(plain);
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    r = new Reader(chunks, 0, length);
  }
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
