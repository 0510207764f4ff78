// Framing of one log record inside a segment file. Every record starts on an 8-byte
// boundary with a 16-byte header (little-endian):
//
//   0  u32  CRC-32 of bytes [4, 16 + length): the rest of the header and the payload
//   4  u32  payload length in bytes
//   8  u32  sequence number of the segment the record was written for
//  12  u8   record type (RecordType)
//  13  u8   flags (FLAG_PREFIX_DURABLE)
//  14  u16  magic 0x5752 ("RW")
//
// The segment sequence number makes a record written for an older use of a recycled file
// invalid in its new life, so stale bytes can never be read as part of the log.
import type { Entry, EntryType } from "../../raft/types.js";
import { crc32 } from "./crc32.js";

export const HEADER_BYTES = 16;
export const MAGIC = 0x5752;
const ALIGN = 8;

export const RecordType = {
  /** A batch of consecutive entries; its first index may replace the log's suffix. */
  Entries: 1,
  /** First record of every segment: the log's last index and term when it was started. */
  Checkpoint: 2,
  /** Entries up to `index` were compacted; `term` is the term at `index`. */
  Compact: 3,
  /** The log was wiped; it restarts after (`index`, `term`). */
  Reset: 4,
  /** The writer moved on to the next segment; nothing after this record belongs to the log. */
  Seal: 5,
  /** Zeros that make the next write start on a page boundary; carries nothing. */
  Pad: 6,
} as const;
export type RecordType = (typeof RecordType)[keyof typeof RecordType];

/**
 * Set when every byte written before this record had been fdatasync'ed when this record
 * was written, and only on the first record of a write. Recovery uses it to tell
 * corruption from a lost unsynced write or a torn one.
 */
export const FLAG_PREFIX_DURABLE = 1;

/** Bytes per entry inside an Entries payload, before its data: term f64, length u32, type u8. */
export const ENTRY_HEADER_BYTES = 13;
/** Bytes of an Entries payload before the first entry: first index f64, count u32. */
export const BATCH_HEADER_BYTES = 12;
const MARK_PAYLOAD_BYTES = 16;

export function alignUp(n: number): number {
  return (n + ALIGN - 1) & ~(ALIGN - 1);
}

/** Space a record with `payload` bytes takes in a segment, padding included. */
export function recordBytes(payload: number): number {
  return alignUp(HEADER_BYTES + payload);
}

export const SEAL_BYTES = recordBytes(0);
export const MARK_BYTES = recordBytes(MARK_PAYLOAD_BYTES);

/**
 * Payload bytes of an Entries record for `entries`; stores each entry's data length in
 * `lengths` (reading byteLength once per entry: it is a getter call, not a field load).
 */
export function entriesPayloadBytes(entries: readonly Entry[], lengths: Uint32Array): number {
  let n = BATCH_HEADER_BYTES + ENTRY_HEADER_BYTES * entries.length;
  for (let k = 0; k < entries.length; k++) {
    const len = entries[k]!.data.byteLength;
    lengths[k] = len;
    n += len;
  }
  return n;
}

function finishRecord(
  buf: Buffer,
  at: number,
  payload: number,
  seq: number,
  type: RecordType,
  flags: number,
): number {
  buf.writeUInt32LE(payload, at + 4);
  buf.writeUInt32LE(seq, at + 8);
  buf[at + 12] = type;
  buf[at + 13] = flags;
  buf.writeUInt16LE(MAGIC, at + 14);
  buf.writeUInt32LE(crc32(buf.subarray(at + 4, at + HEADER_BYTES + payload)), at);
  const end = at + recordBytes(payload);
  buf.fill(0, at + HEADER_BYTES + payload, end);
  return end;
}

/**
 * Writes an Entries record at `at` and returns where it ends. `lengths` holds the data
 * lengths from entriesPayloadBytes; `dataOffsets[k]` receives the position of entry k's
 * data relative to `at`, for the in-memory position index. `view`
 * is a DataView over `buf`'s bytes (its fixed-width setters are several times faster than
 * Buffer's write methods).
 */
export function writeEntriesRecord(
  buf: Buffer,
  view: DataView,
  at: number,
  entries: readonly Entry[],
  seq: number,
  flags: number,
  lengths: Uint32Array,
  dataOffsets: Uint32Array,
): number {
  let p = at + HEADER_BYTES;
  view.setFloat64(p, entries[0]!.index, true);
  view.setUint32(p + 8, entries.length, true);
  p += BATCH_HEADER_BYTES;
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k]!;
    const data = e.data;
    const len = lengths[k]!;
    view.setFloat64(p, e.term, true);
    view.setUint32(p + 8, len, true);
    buf[p + 12] = e.type;
    p += ENTRY_HEADER_BYTES;
    dataOffsets[k] = p - at;
    if (len > 64) buf.set(data, p);
    else for (let b = 0; b < len; b++) buf[p + b] = data[b]!; // cheaper than set() when short
    p += len;
  }
  return finishRecord(buf, at, p - at - HEADER_BYTES, seq, RecordType.Entries, flags);
}

/** Writes a Checkpoint, Compact or Reset record carrying (index, term). */
export function writeMarkRecord(
  buf: Buffer,
  at: number,
  type: RecordType,
  index: number,
  term: number,
  seq: number,
  flags: number,
): number {
  buf.writeDoubleLE(index, at + HEADER_BYTES);
  buf.writeDoubleLE(term, at + HEADER_BYTES + 8);
  return finishRecord(buf, at, MARK_PAYLOAD_BYTES, seq, type, flags);
}

export function writeSealRecord(buf: Buffer, at: number, seq: number): number {
  return finishRecord(buf, at, 0, seq, RecordType.Seal, 0);
}

/** Writes a Pad record of exactly `bytes` bytes (a multiple of 8, at least HEADER_BYTES). */
export function writePadRecord(
  buf: Buffer,
  at: number,
  bytes: number,
  seq: number,
  flags: number,
): number {
  buf.fill(0, at + HEADER_BYTES, at + bytes);
  return finishRecord(buf, at, bytes - HEADER_BYTES, seq, RecordType.Pad, flags);
}

export interface RecordView {
  type: RecordType;
  flags: number;
  /** Offset of the payload in the segment buffer. */
  payloadAt: number;
  payloadBytes: number;
  /** Offset just past the record, padding included. */
  end: number;
}

/** Why `readRecord` refused the bytes at an offset. */
export type RecordProblem =
  | "end-of-segment"
  | "other-segment"
  | "bad-header"
  | "bad-length"
  | "bad-checksum"
  | "bad-payload";

/**
 * Validates the record at `at` in segment `seq`; returns it, or what is wrong with it.
 * "other-segment" covers zeroed (preallocated) space and stale records of a recycled file.
 */
export function readRecord(seg: Buffer, at: number, seq: number): RecordView | RecordProblem {
  if (at + HEADER_BYTES > seg.length) return "end-of-segment";
  if (seg.readUInt32LE(at + 8) !== seq) return "other-segment";
  const type = seg[at + 12]!;
  if (seg.readUInt16LE(at + 14) !== MAGIC || type < RecordType.Entries || type > RecordType.Pad) {
    return "bad-header";
  }
  const payloadBytes = seg.readUInt32LE(at + 4);
  if (at + HEADER_BYTES + payloadBytes > seg.length) return "bad-length";
  const stored = seg.readUInt32LE(at);
  if (crc32(seg.subarray(at + 4, at + HEADER_BYTES + payloadBytes)) !== stored) {
    return "bad-checksum";
  }
  const view: RecordView = {
    type: type as RecordType,
    flags: seg[at + 13]!,
    payloadAt: at + HEADER_BYTES,
    payloadBytes,
    end: Math.min(seg.length, at + recordBytes(payloadBytes)),
  };
  return payloadFits(seg, view) ? view : "bad-payload";
}

/** A checksummed payload can still disagree with its type if the writer had a bug. */
function payloadFits(seg: Buffer, r: RecordView): boolean {
  switch (r.type) {
    case RecordType.Seal:
      return r.payloadBytes === 0;
    case RecordType.Pad:
      return true;
    case RecordType.Entries: {
      if (r.payloadBytes < BATCH_HEADER_BYTES) return false;
      const count = seg.readUInt32LE(r.payloadAt + 8);
      let p = r.payloadAt + BATCH_HEADER_BYTES;
      const end = r.payloadAt + r.payloadBytes;
      for (let k = 0; k < count; k++) {
        if (p + ENTRY_HEADER_BYTES > end) return false;
        p += ENTRY_HEADER_BYTES + seg.readUInt32LE(p + 8);
      }
      return p === end && count > 0;
    }
    default:
      return r.payloadBytes === MARK_PAYLOAD_BYTES;
  }
}

/** (index, term) of a Checkpoint, Compact or Reset record. */
export function readMark(seg: Buffer, r: RecordView): { index: number; term: number } {
  return {
    index: seg.readDoubleLE(r.payloadAt),
    term: seg.readDoubleLE(r.payloadAt + 8),
  };
}

/** Visits each entry of an Entries record: index, term, type, data offset, data length. */
export function forEachEntry(
  seg: Buffer,
  r: RecordView,
  visit: (index: number, term: number, type: EntryType, dataAt: number, dataBytes: number) => void,
): void {
  const first = seg.readDoubleLE(r.payloadAt);
  const count = seg.readUInt32LE(r.payloadAt + 8);
  let p = r.payloadAt + BATCH_HEADER_BYTES;
  for (let k = 0; k < count; k++) {
    const term = seg.readDoubleLE(p);
    const len = seg.readUInt32LE(p + 8);
    const type = seg[p + 12]! as EntryType;
    p += ENTRY_HEADER_BYTES;
    visit(first + k, term, type, p, len);
    p += len;
  }
}
