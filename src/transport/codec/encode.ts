// The encoding half of the wire codec: a Message batch to the protobuf bytes of `RaftBatch`,
// written by hand.
//
// Why by hand: going through proto-loader/protobufjs costs ~650 ns per entry to encode
// (fromObject + encode), where writing the bytes straight into one pre-sized buffer costs
// ~50-80 ns (FACTS.md). The encoder measures the whole batch first, allocates once, then
// writes. The output stays plain protobuf, so any protobuf tool can read it (the tests
// check this against protobufjs).
//
// Every uint64 field is a JavaScript number: the encoder rejects anything that is not a
// non-negative safe integer. The local-only Message fields (vote, responses) are never
// written.
//
// The sizes of the batch being written and the cache of the last entries written belong
// to one BatchEncoder, and each transport owns its own: two transports in one process
// (a test cluster, the local-cluster launcher's in-process runs) never read each other's
// bytes.
import type { ConfState, Entry, Message, Snapshot, SnapshotMetadata } from "../../raft/types.js";
import { putUvarint, uvarintSize } from "../../units/varint.js";
import { invariant, WireFormatError } from "../errors.js";
import type { Epoch } from "../transport.js";
import {
  TAG_BATCH_EPOCH,
  TAG_BATCH_FROM,
  TAG_BATCH_MESSAGES,
  TAG_CONF_LEARNERS_PACKED,
  TAG_CONF_VOTERS_PACKED,
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
} from "./tags.js";

// ---------------------------------------------------------------------------------------
// Sizes (pure)

/** Bytes of the varint encoding of `n`; throws unless `n` is a non-negative safe integer. */
function uintSize(n: number, field: string): number {
  if (n >>> 0 !== n && (!Number.isSafeInteger(n) || n < 0)) {
    throw new WireFormatError(
      "unencodable-value",
      `cannot encode ${field}=${n}: it must be a non-negative safe integer (uint64 on the wire)`,
    );
  }
  return uvarintSize(n);
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

/** Bytes of one Message's varint fields before its entries. */
function messageHeadSize(m: Message): number {
  return (
    uintFieldSize(m.type, "message.type") +
    uintFieldSize(m.to, "message.to") +
    uintFieldSize(m.from, "message.from") +
    uintFieldSize(m.term, "message.term") +
    uintFieldSize(m.logTerm, "message.logTerm") +
    uintFieldSize(m.index, "message.index") +
    uintFieldSize(m.commit, "message.commit") +
    uintFieldSize(m.rejectHint, "message.rejectHint") +
    (m.reject ? 2 : 0)
  );
}

/** Bytes of one Message's snapshot and context. */
function messageTailSize(m: Message): number {
  let n = 0;
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
// Writing (pure): each function writes at `pos` and returns the position after what it
// wrote. The size pass has already checked every value.

function putUintField(buf: Uint8Array, pos: number, tag: number, n: number): number {
  if (n === 0) return pos;
  buf[pos] = tag;
  return putUvarint(buf, pos + 1, n);
}

function putBytesField(buf: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  const len = bytes.length;
  if (len === 0) return pos;
  buf[pos] = tag;
  pos = putUvarint(buf, pos + 1, len);
  buf.set(bytes, pos);
  return pos + len;
}

function putPacked(buf: Uint8Array, pos: number, tag: number, values: readonly number[]): number {
  if (values.length === 0) return pos;
  buf[pos] = tag;
  pos = putUvarint(buf, pos + 1, packedSize(values, "packed"));
  for (let i = 0; i < values.length; i++) pos = putUvarint(buf, pos, values[i]!);
  return pos;
}

function putSnapshot(buf: Uint8Array, pos: number, s: Snapshot): number {
  buf[pos] = TAG_MSG_SNAPSHOT;
  pos = putUvarint(buf, pos + 1, snapshotSize(s));
  pos = putBytesField(buf, pos, TAG_SNAP_DATA, s.data);
  const md = s.metadata;
  buf[pos] = TAG_SNAP_METADATA;
  pos = putUvarint(buf, pos + 1, metadataSize(md));
  buf[pos] = TAG_META_CONF_STATE;
  pos = putUvarint(buf, pos + 1, confStateSize(md.confState));
  pos = putPacked(buf, pos, TAG_CONF_VOTERS_PACKED, md.confState.voters);
  pos = putPacked(buf, pos, TAG_CONF_LEARNERS_PACKED, md.confState.learners);
  pos = putUintField(buf, pos, TAG_META_INDEX, md.index);
  return putUintField(buf, pos, TAG_META_TERM, md.term);
}

/** The fields written after a Message's entries. */
function putMessageTail(buf: Uint8Array, pos: number, m: Message): number {
  pos = putUintField(buf, pos, TAG_MSG_COMMIT, m.commit);
  if (m.snapshot !== undefined) pos = putSnapshot(buf, pos, m.snapshot);
  if (m.reject) {
    buf[pos++] = TAG_MSG_REJECT;
    buf[pos++] = 1;
  }
  pos = putUintField(buf, pos, TAG_MSG_REJECT_HINT, m.rejectHint);
  return putBytesField(buf, pos, TAG_MSG_CONTEXT, m.context);
}

// ---------------------------------------------------------------------------------------
// The encoder

/** Batches with fewer entries than this are not worth remembering for the next batch. */
const MIN_CACHED_ENTRIES = 4;

/** Where encodeParts puts its parts while it runs. */
interface PartsSink {
  readonly out: Uint8Array[];
  readonly minShared: number;
  /** Start of the current segment of the batch buffer (bytes written since the last cut). */
  segmentStart: number;
  /** Bytes handed out as parts of their own (large entry data, cached entries), not in the buffer. */
  external: number;
}

/** Ends the sink's current segment of `buf` at `pos`, as a part (none when it is empty). */
function cutSegment(parts: PartsSink, buf: Uint8Array, pos: number): void {
  if (pos > parts.segmentStart) parts.out.push(buf.subarray(parts.segmentStart, pos));
  parts.segmentStart = pos;
}

/**
 * Encodes batches for one transport. It keeps, between calls, scratch arrays for the
 * sizes of the batch being written and the encoded entries of the last MsgApp it wrote;
 * nothing it keeps is visible to another encoder.
 */
export class BatchEncoder {
  // Sizes of the batch being encoded, kept between the size pass and the write pass so each
  // is computed once: one slot per message, one per entry.
  private messageSizes = new Float64Array(64);
  private entrySizes = new Float64Array(4096);

  // The encoded entries of the last MsgApp written. A leader usually sends every follower
  // the same entries (slices of one log, sharing the Entry objects), and one send encodes
  // one batch per destination: the second destination copies the bytes instead of encoding
  // each entry again. Entries are immutable and a log slice is contiguous, so the same first
  // and last Entry objects and the same count mean the same entries. The bytes are a view of
  // a batch this encoder already handed out, which its transport never writes to.
  private cachedFirst: Entry | undefined = undefined;
  private cachedLast: Entry | undefined = undefined;
  private cachedCount = 0;
  private cachedBytes: Uint8Array = new Uint8Array(0);
  /** The longest entry data in cachedBytes: a batch writing parts reuses only runs below its minShared. */
  private cachedMaxData = 0;

  // Entries written by the batch being encoded; they replace the cache only once the batch
  // is done, so the size pass and the write pass of one batch see the same cache.
  private writtenEntries: readonly Entry[] | undefined = undefined;
  private writtenBytes: Uint8Array = this.cachedBytes;
  private writtenMaxData = 0;

  // Set only while encodeParts runs.
  private parts: PartsSink | undefined = undefined;

  /**
   * Encodes one batch as the protobuf bytes of `RaftBatch`. The header (epoch, from) always
   * comes first, so batches with the same header can be joined (see `concatBatches`).
   * Returns a Node Buffer (a Uint8Array) so gRPC can send it without another copy.
   */
  encode(epoch: Epoch, from: number, messages: readonly Message[]): Uint8Array {
    return this.encodeInto(epoch, from, messages);
  }

  /**
   * The bytes of `encode` as a list of parts whose concatenation is exactly those bytes,
   * for a writer that can gather (one writev). Two kinds of bytes are not copied into the
   * batch but handed out as parts of their own: entry data of at least `minShared` bytes
   * (the caller's own array, which must not change until written), and the encoded entries
   * of the last MsgApp when this batch sends the same entries again (the second follower's
   * batch: a view of the first one's bytes). Otherwise it is one part, the same as `encode`.
   * Returns the parts and their total length.
   */
  encodeParts(
    epoch: Epoch,
    from: number,
    messages: readonly Message[],
    minShared: number,
  ): { parts: Uint8Array[]; length: number } {
    const parts: PartsSink = { out: [], minShared, segmentStart: 0, external: 0 };
    this.parts = parts;
    try {
      const buf = this.encodeInto(epoch, from, messages);
      if (parts.segmentStart === 0) parts.out.push(buf);
      else if (parts.segmentStart < buf.length) parts.out.push(buf.subarray(parts.segmentStart));
      return { parts: parts.out, length: buf.length + parts.external };
    } finally {
      this.parts = undefined;
    }
  }

  /**
   * Encodes into one buffer; writing parts, the bytes the size pass handed out as parts of
   * their own are left out of it.
   */
  private encodeInto(epoch: Epoch, from: number, messages: readonly Message[]): Uint8Array {
    if (this.messageSizes.length < messages.length) {
      this.messageSizes = new Float64Array(Math.max(messages.length, this.messageSizes.length * 2));
    }
    const messageSizes = this.messageSizes;
    let entryCount = 0;
    for (let i = 0; i < messages.length; i++) entryCount += messages[i]!.entries.length;
    if (this.entrySizes.length < entryCount) {
      this.entrySizes = new Float64Array(Math.max(entryCount, this.entrySizes.length * 2));
    }

    const epochLen = epochSize(epoch);
    let total = 1 + uintSize(epochLen, "length") + epochLen + uintFieldSize(from, "batch.from");
    let slot = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      // In this order, so that a batch with several bad values names the same one as before.
      const head = messageHeadSize(m);
      const size = head + this.entriesSize(m.entries, slot) + messageTailSize(m);
      slot += m.entries.length;
      messageSizes[i] = size;
      total += lenFieldSize(size);
    }

    const size = total - (this.parts?.external ?? 0);
    const out = Buffer.allocUnsafe(size);
    // Stores into a plain Uint8Array view are cheaper than into the Buffer subclass.
    const buf = new Uint8Array(out.buffer, out.byteOffset, size);
    buf[0] = TAG_BATCH_EPOCH;
    let pos = putUvarint(buf, 1, epochLen);
    pos = putUintField(buf, pos, TAG_EPOCH_START, epoch.start);
    pos = putUintField(buf, pos, TAG_EPOCH_ITERATION, epoch.iteration);
    pos = putUintField(buf, pos, TAG_BATCH_FROM, from);
    slot = 0;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      pos = this.putMessage(buf, pos, m, messageSizes[i]!, slot);
      slot += m.entries.length;
    }
    this.rememberWrittenEntries();
    invariant(pos === size, "encoded-size", () => `wrote ${pos} bytes into a buffer sized ${size}`);
    return out;
  }

  /**
   * Bytes of a Message's entries; records each entry's size from `slot` on. Writing parts,
   * counts the bytes that will be parts of their own.
   */
  private entriesSize(entries: readonly Entry[], slot: number): number {
    const parts = this.parts;
    const cached = this.cachedEntries(entries);
    if (cached !== undefined) {
      if (parts !== undefined) parts.external += cached.length;
      return cached.length;
    }
    const sizes = this.entrySizes;
    let n = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const size = entrySize(e);
      sizes[slot + i] = size;
      n += 1 + uintSize(size, "length") + size;
      if (parts !== undefined && e.data.length >= parts.minShared) parts.external += e.data.length;
    }
    return n;
  }

  private cachedEntries(entries: readonly Entry[]): Uint8Array | undefined {
    const n = entries.length;
    if (n !== this.cachedCount || n === 0) return undefined;
    if (entries[0] !== this.cachedFirst || entries[n - 1] !== this.cachedLast) return undefined;
    // Large data goes out from the entry's own array, never from a copy of it.
    if (this.parts !== undefined && this.cachedMaxData >= this.parts.minShared) return undefined;
    return this.cachedBytes;
  }

  private rememberWrittenEntries(): void {
    const entries = this.writtenEntries;
    if (entries === undefined) return;
    this.cachedFirst = entries[0];
    this.cachedLast = entries[entries.length - 1];
    this.cachedCount = entries.length;
    this.cachedBytes = this.writtenBytes;
    this.cachedMaxData = this.writtenMaxData;
    this.writtenEntries = undefined;
  }

  private putMessage(buf: Uint8Array, pos: number, m: Message, size: number, slot: number): number {
    buf[pos] = TAG_BATCH_MESSAGES;
    pos = putUvarint(buf, pos + 1, size);
    pos = putUintField(buf, pos, TAG_MSG_TYPE, m.type);
    pos = putUintField(buf, pos, TAG_MSG_TO, m.to);
    pos = putUintField(buf, pos, TAG_MSG_FROM, m.from);
    pos = putUintField(buf, pos, TAG_MSG_TERM, m.term);
    pos = putUintField(buf, pos, TAG_MSG_LOG_TERM, m.logTerm);
    pos = putUintField(buf, pos, TAG_MSG_INDEX, m.index);
    pos = this.putEntries(buf, pos, m.entries, slot);
    return putMessageTail(buf, pos, m);
  }

  private putEntries(
    buf: Uint8Array,
    pos: number,
    entries: readonly Entry[],
    slot: number,
  ): number {
    if (entries.length === 0) return pos;
    const parts = this.parts;
    const cached = this.cachedEntries(entries);
    if (cached !== undefined) {
      if (parts === undefined) {
        buf.set(cached, pos);
        return pos + cached.length;
      }
      // The bytes already handed out become a part of this batch too: not copied again.
      cutSegment(parts, buf, pos);
      parts.out.push(cached);
      return pos;
    }
    const start = pos;
    const cuts = parts?.out.length ?? 0;
    pos = this.writeEntries(buf, pos, entries, slot);
    // Only entries written whole into this buffer are one contiguous run of bytes to reuse.
    if (entries.length >= MIN_CACHED_ENTRIES && (parts?.out.length ?? 0) === cuts) {
      this.writtenEntries = entries;
      this.writtenBytes = buf.subarray(start, pos);
      let maxData = 0;
      for (let i = 0; i < entries.length; i++) maxData = Math.max(maxData, entries[i]!.data.length);
      this.writtenMaxData = maxData;
    }
    return pos;
  }

  private writeEntries(
    buf: Uint8Array,
    pos: number,
    entries: readonly Entry[],
    slot: number,
  ): number {
    const sizes = this.entrySizes;
    const parts = this.parts;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      buf[pos] = TAG_MSG_ENTRIES;
      pos = putUvarint(buf, pos + 1, sizes[slot + i]!);
      pos = putUintField(buf, pos, TAG_ENTRY_TERM, e.term);
      pos = putUintField(buf, pos, TAG_ENTRY_INDEX, e.index);
      pos = putUintField(buf, pos, TAG_ENTRY_TYPE, e.type);
      if (parts !== undefined && e.data.length >= parts.minShared) {
        // The data itself becomes a part of its own: written out by reference, not copied.
        buf[pos] = TAG_ENTRY_DATA;
        pos = putUvarint(buf, pos + 1, e.data.length);
        cutSegment(parts, buf, pos);
        parts.out.push(e.data);
        continue;
      }
      pos = putBytesField(buf, pos, TAG_ENTRY_DATA, e.data);
    }
    return pos;
  }
}
