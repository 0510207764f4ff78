// Rebuilds the file log's in-memory index from its segment files and decides where the
// log ends. See the top of file-wal.ts for how a torn tail is told from corruption.
import * as fs from "node:fs";
import type { Logger } from "../../raft/api.js";
import { WalCorruptionError, WalError } from "../errors.js";
import { EntryIndex } from "./entry-index.js";
import {
  FLAG_PREFIX_DURABLE,
  forEachEntry,
  HEADER_BYTES,
  MAGIC,
  type RecordProblem,
  RecordType,
  type RecordView,
  readMark,
  readRecord,
} from "./record.js";
import { type Segment, type SegmentFiles, segmentFileName } from "./segment.js";

export interface RecoveredLog {
  /** Surviving segments in sequence order, open for reading and writing. */
  segments: Segment[];
  index: EntryIndex;
  /** Where the next record goes in the last segment. */
  writeOffset: number;
  /** The last segment takes no more records (sealed, or sealed now over a torn tail). */
  lastSealed: boolean;
  /** A torn tail that must be sealed before anything is written after it. */
  tornAt: number | undefined;
}

export { WalCorruptionError };

function readWhole(seg: Segment): Buffer {
  const buf = Buffer.allocUnsafe(seg.size);
  let at = 0;
  while (at < seg.size) {
    const n = fs.readSync(seg.fd, buf, at, seg.size - at, at);
    if (n === 0) break;
    at += n;
  }
  return at === seg.size ? buf : buf.subarray(0, at);
}

type AfterCut = { kind: "clean" } | { kind: "garbage" } | { kind: "durable"; at: number };

/**
 * Looks at offsets from `from` on for anything written for this segment: a checksummed
 * record that claims a durable prefix proves that a bad record before it was once good
 * (corruption); other same-segment bytes are leftovers of writes a crash interrupted.
 */
function inspectFrom(buf: Buffer, from: number, seq: number): AfterCut {
  const pattern = Buffer.alloc(4);
  pattern.writeUInt32LE(seq);
  let garbage = false;
  for (let p = buf.indexOf(pattern, from + 8); p !== -1; p = buf.indexOf(pattern, p + 1)) {
    const at = p - 8;
    if (at % 8 !== 0 || at + HEADER_BYTES > buf.length || buf.readUInt16LE(at + 14) !== MAGIC) {
      continue;
    }
    const r = readRecord(buf, at, seq);
    if (typeof r !== "string" && (r.flags & FLAG_PREFIX_DURABLE) !== 0)
      return { kind: "durable", at };
    garbage = true;
  }
  return garbage ? { kind: "garbage" } : { kind: "clean" };
}

/** Applies one record to the index being rebuilt. */
class Replayer {
  readonly index = new EntryIndex();
  private started = false;

  apply(seg: Segment, buf: Buffer, at: number, r: RecordView): void {
    const fail = (detail: string) => new WalCorruptionError(seg.path, at, detail);
    const ix = this.index;
    // A seal at 0 closes a segment whose first write was torn and cut at open.
    if (at === 0 && r.type !== RecordType.Checkpoint && r.type !== RecordType.Seal) {
      throw fail("a segment must begin with a checkpoint record");
    }
    switch (r.type) {
      case RecordType.Checkpoint: {
        const { index, term } = readMark(buf, r);
        if (!this.started) ix.reset(index, term);
        else if (index !== ix.last || term !== ix.lastTerm()) {
          throw fail(
            `segment starts after index ${index}, but the log before it ends at ${ix.last}`,
          );
        }
        this.started = true;
        return;
      }
      case RecordType.Entries: {
        let first = 0;
        forEachEntry(buf, r, (index, term, type, dataAt, dataBytes) => {
          if (first === 0) {
            first = index;
            if (index > ix.last + 1) {
              throw fail(`entries start at ${index}, leaving a gap after index ${ix.last}`);
            }
            // Replacing entries that lived in recycled segments: the term before the
            // first entry is unknown until the compaction record that follows settles it.
            if (index < ix.first) ix.reset(index - 1, Number.NaN);
            else ix.truncateFrom(index);
          }
          ix.push(term, type, seg.seq, dataAt, dataBytes);
        });
        return;
      }
      case RecordType.Compact: {
        const { index, term } = readMark(buf, r);
        if (index < ix.first - 1) return; // older than what the log already starts after
        if (index > ix.last) throw fail(`compaction to ${index} beyond last index ${ix.last}`);
        ix.compact(index);
        ix.prevTerm = term;
        return;
      }
      case RecordType.Reset: {
        const { index, term } = readMark(buf, r);
        ix.reset(index, term);
        return;
      }
      case RecordType.Seal:
      case RecordType.Pad:
        return;
    }
  }

  finish(dir: string, firstSeq: number | undefined): void {
    if (!this.started && firstSeq !== undefined && firstSeq !== 1) {
      throw new WalError(
        "unrecoverable",
        `wal: ${dir} holds no readable segment start (first segment ${segmentFileName(firstSeq)}); the log cannot be recovered`,
      );
    }
    if (Number.isNaN(this.index.prevTerm)) {
      throw new WalError(
        "unrecoverable",
        `wal: ${dir}: the term before index ${this.index.first} was lost with a recycled segment; the log cannot be recovered`,
      );
    }
  }
}

function describe(problem: RecordProblem): string {
  return problem.replaceAll("-", " ");
}

export function recover(files: SegmentFiles, logger: Logger): RecoveredLog {
  const listed = files.scanDir();
  for (let k = 1; k < listed.length; k++) {
    if (listed[k]!.seq !== listed[k - 1]!.seq + 1) {
      throw new WalError(
        "unrecoverable",
        `wal: segment ${segmentFileName(listed[k - 1]!.seq + 1)} is missing from ${files.dir}; the log cannot be recovered`,
      );
    }
  }
  const segments = listed.map((s) => files.openExisting(s.seq, s.path));
  const replayer = new Replayer();
  try {
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      const buf = readWhole(seg);
      let at = 0;
      let problem: RecordProblem | undefined;
      for (;;) {
        const r = readRecord(buf, at, seg.seq);
        if (typeof r === "string") {
          problem = r;
          break;
        }
        replayer.apply(seg, buf, at, r);
        at = r.end;
        if (r.type === RecordType.Seal) break;
      }
      if (problem === undefined) {
        if (i === segments.length - 1) {
          replayer.finish(files.dir, segments[0]?.seq);
          return {
            segments,
            index: replayer.index,
            writeOffset: at,
            lastSealed: true,
            tornAt: undefined,
          };
        }
        continue;
      }
      if (problem === "bad-payload")
        throw new WalCorruptionError(seg.path, at, "malformed payload");
      // The first place the log stops making sense: everything after it must be debris.
      const after = inspectFrom(buf, at + 8, seg.seq);
      for (let j = i + 1; j < segments.length && after.kind !== "durable"; j++) {
        const later = inspectFrom(readWhole(segments[j]!), 0, segments[j]!.seq);
        if (later.kind === "durable") {
          throw new WalCorruptionError(
            seg.path,
            at,
            `${describe(problem)}, yet ${segments[j]!.path} holds durable records after it`,
          );
        }
      }
      if (after.kind === "durable") {
        throw new WalCorruptionError(
          seg.path,
          at,
          `${describe(problem)}, yet a durable record follows at offset ${after.at}`,
        );
      }
      for (const extra of segments.splice(i + 1)) files.discard(extra);
      replayer.finish(files.dir, segments[0]?.seq);
      // Zeros, a recycled file's stale records, or the end of a file that grew as written.
      const endOfData =
        problem === "other-segment" || (problem === "end-of-segment" && at === buf.length);
      const clean = endOfData && after.kind === "clean";
      if (!clean) {
        logger.warn(
          `wal: torn tail in ${seg.path} at offset ${at} (${describe(problem)}); cut there, the log ends at index ${replayer.index.last}`,
        );
      }
      return {
        segments,
        index: replayer.index,
        writeOffset: at,
        lastSealed: false,
        tornAt: clean ? undefined : at,
      };
    }
    replayer.finish(files.dir, undefined);
    return {
      segments,
      index: replayer.index,
      writeOffset: 0,
      lastSealed: false,
      tornAt: undefined,
    };
  } catch (err) {
    for (const seg of segments) fs.closeSync(seg.fd);
    throw err;
  }
}
