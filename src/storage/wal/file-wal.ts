// The project's own write-ahead log: fixed-size, preallocated and recycled segment files
// (segment.ts) of checksummed records (record.ts), an in-memory position index
// (entry-index.ts) and a cache of recent entries (entry-cache.ts).
//
// Durability. Writes and fdatasyncs run on a dedicated I/O thread (io-thread.ts), in the
// order they are issued, so the event loop goes on stepping and sending while the disk
// works. An append encodes its batch as one record straight into the thread's shared ring
// buffer. When the thread is idle the record is written and fdatasync'ed at once; when a
// sync is in flight, every append that arrives meanwhile joins the next write, and one
// fdatasync covers them all (group commit). Each append's promise resolves only once the
// fdatasync covering its bytes has returned (an unsynced append: once its write has). Moving
// to the next segment adds a seal record and an fdatasync of the old one, once per segment.
// Suffix replacement needs no extra marker (an Entries record whose first index is at or
// below the last index replaces the suffix on replay); compaction and reset write a marker
// record and wait for its fdatasync before any segment file is recycled.
//
// Torn tail or corruption. Recovery replays records in order and stops at the first
// record that does not check out. It then looks at everything written after that point
// (the rest of that segment and all later segments) for records of the same segment use:
//  - a valid record carrying FLAG_PREFIX_DURABLE means the bad record had been written
//    and fdatasync'ed before that later record was written; its bytes have changed since,
//    so this is corruption: opening fails with an error naming the file and offset;
//  - otherwise the bad bytes were written by a write that the crash cut short, or are
//    leftovers of unsynced writes that reached the disk out of order: the log is cut
//    there with a warning naming the file and offset, and the cut is sealed so the
//    leftovers can never be mistaken for records later;
//  - zeros or records of an older use of a recycled file are simply the end of the log.
// The flag is set on the first record of a write when nothing written before it is waiting
// for an fdatasync (the I/O thread runs that fdatasync before the write); a synced append
// that follows unsynced ones first syncs them, so it can carry the flag (one extra
// fdatasync, only when modes are mixed). Records that join a group after its first never
// carry it: a torn group write may keep their pages and lose the first one's.
//
// A failed write or fdatasync (ENOSPC, EIO) rejects every append waiting on it and poisons the log:
// the kernel may have dropped the dirty pages, so nothing more can be promised and every
// later call fails with the same error; close() still releases the files.
import * as fs from "node:fs";
import type { Logger } from "../../raft/api.js";
import { RaftError } from "../../raft/errors.js";
import type { Entry } from "../../raft/types.js";
import { InvariantViolation, invariant, WalError } from "../errors.js";
import { makeDirsSync } from "../make-dir.js";
import { errnoCode, StorageFault } from "../storage-fault.js";
import { EntryCache } from "./entry-cache.js";
import type { EntryIndex } from "./entry-index.js";
import { type IoFault, IoThread, type RingSpace } from "./io-thread.js";
import {
  alignUp,
  BATCH_HEADER_BYTES,
  ENTRY_HEADER_BYTES,
  entriesPayloadBytes,
  FLAG_PREFIX_DURABLE,
  HEADER_BYTES,
  MARK_BYTES,
  RecordType,
  recordBytes,
  SEAL_BYTES,
  writeEntriesRecord,
  writeMarkRecord,
  writePadRecord,
  writeSealRecord,
} from "./record.js";
import { type RecoveredLog, recover } from "./recovery.js";
import { type Segment, SegmentFiles } from "./segment.js";
import type { AppendOptions, Wal } from "./wal.js";

export interface FileWalOptions {
  dir: string;
  /** Size of each segment file; default 64 MiB. A multiple of 8, at least 4096. */
  segmentBytes?: number;
  /** Bytes of recent entry data served from memory; default 32 MiB. */
  cacheBytes?: number;
  logger?: Logger;
  /**
   * Milliseconds the I/O thread waits after each fdatasync, as if the disk were that much
   * slower (`--disk-delay`); the event loop never waits for it.
   */
  syncDelayMs?: number;
  /** Tests only: a write or fdatasync on the I/O thread that fails. */
  faults?: IoFault;
}

export const DEFAULT_SEGMENT_BYTES = 64 << 20;
const DEFAULT_CACHE_BYTES = 32 << 20;
const MIN_SEGMENT_BYTES = 4096;
/**
 * Writes of at least this many bytes count as large. A large write is padded to end on a
 * page boundary, so the next one starts on a fresh page: a 276 KiB write + fdatasync took
 * ~680 µs (p50, with a long tail) when it started mid-page and ~510 µs when page-aligned;
 * a page per 300-byte append would fill segments 13 times faster, so small writes are not
 * padded. And a segment written mostly in large writes is followed by a growing file
 * instead of a zero-filled spare: at 276 KiB per append, zero-filling the next segment in
 * the background raised the mean append from ~0.85 ms to ~1.4 ms (the disk writes every
 * byte twice), more than allocating blocks as the file grows costs (~0.35 ms per
 * fdatasync); at 300 B per append, preallocation saves ~60 µs on each of 200k appends.
 * Compacted segments, grown ones included, are recycled as spares, so a log of large writes
 * that is compacted writes into allocated space from its third segment on, for free.
 */
const LARGE_WRITE_BYTES = 32 * 1024;
const PAGE_BYTES = 4096;
/** Dead bytes (headers, replaced entries) a disk read may span to serve two entries at once. */
const MAX_READ_GAP = 4096;

const consoleLogger: Logger = {
  debug() {},
  info() {},
  warn: (msg) => console.warn(msg),
};

/** A published write, until the I/O thread has done it. */
interface InFlightWrite {
  cmd: number;
  seg: Segment;
  from: number;
  to: number;
}

/** Records encoded in the ring but not yet handed to the I/O thread: the next write. */
interface Staged {
  seg: Segment;
  ringAt: number;
  fileAt: number;
  length: number;
}

interface Waiter {
  resolve: () => void;
  reject: (err: Error) => void;
}

/** Callers waiting for I/O command `cmd` to be done. */
interface CommandWaiters {
  cmd: number;
  waiters: Waiter[];
}

/**
 * Writes all of `buf[0, length)` at `position`. A short write is legal (a disk filling up
 * returns what fit); writing the rest then either finishes or fails with the real cause
 * (ENOSPC), which the user must see. The I/O thread does the same.
 */
function writeFullySync(fd: number, buf: Buffer, length: number, position: number): void {
  let done = 0;
  while (done < length) {
    const n = fs.writeSync(fd, buf, done, length - done, position + done);
    if (n <= 0) {
      throw new WalError("io-failed", `short write: ${done} of ${length} bytes`, { errno: "EIO" });
    }
    done += n;
  }
}

export class FileWal implements Wal {
  readonly kind = "file";
  readonly syncMode: string;

  private readonly cache: EntryCache;
  /** The recycling pass in flight, or the last one (settled). */
  private recycling: Promise<void> = Promise.resolve();
  private readonly io: IoThread;
  /** Some write, staged or published, is not yet covered by a published fdatasync. */
  private dirty = false;
  private staged: Staged | undefined;
  /** Appends waiting for the open group (the staged bytes) to be published. */
  private groupWaiters: Waiter[] = [];
  /** Whether the open group ends with an fdatasync (some append in it asked for one). */
  private groupNeedsSync = false;
  /** Published groups, oldest first, each resolved once its last command is done. */
  private flushed: CommandWaiters[] = [];
  private flushedHead = 0;
  private writes: InFlightWrite[] = [];
  private writesHead = 0;
  /** fdatasyncs issued, and appends made (tests read them to see group commit at work). */
  syncCount = 0;
  appendCount = 0;
  private failure: Error | undefined;
  private closed = false;
  private offsetsScratch = new Uint32Array(64);
  private lengthsScratch = new Uint32Array(64);
  /** Writes into the last segment, to tell a log of small appends from one of large. */
  private writesInSegment = 0;

  private constructor(
    private readonly files: SegmentFiles,
    private readonly index: EntryIndex,
    /** Live segments in sequence order; the last one is written. */
    private readonly segments: Segment[],
    private writeOffset: number,
    private lastSealed: boolean,
    cacheBytes: number,
    syncDelayMs: number,
    faults: IoFault | undefined,
  ) {
    this.cache = new EntryCache(cacheBytes);
    this.cache.clear(index.last + 1);
    this.io = new IoThread(() => this.onIoProgress(), { faults, syncDelayMs });
    this.syncMode =
      "fdatasync per group of appends, on a dedicated I/O thread (pwrite + fdatasync)" +
      (syncDelayMs > 0 ? `, plus a simulated ${syncDelayMs} ms after each fdatasync` : "");
  }

  /** Opens (creating if needed) the log in `dir` and recovers it. */
  static async open(opts: FileWalOptions): Promise<FileWal> {
    const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (
      !Number.isSafeInteger(segmentBytes) ||
      segmentBytes % 8 !== 0 ||
      segmentBytes < MIN_SEGMENT_BYTES
    ) {
      throw new RangeError(
        `wal: segmentBytes must be a multiple of 8 of at least ${MIN_SEGMENT_BYTES}, got ${segmentBytes}`,
      );
    }
    const logger = opts.logger ?? consoleLogger;
    try {
      makeDirsSync(opts.dir);
      fs.accessSync(opts.dir, fs.constants.W_OK);
    } catch (err) {
      throw new WalError(
        "unusable-dir",
        `wal: cannot use directory ${opts.dir} (${errnoCode(err) ?? String(err)}); choose a writable data directory`,
      );
    }
    const syncDelayMs = opts.syncDelayMs ?? 0;
    if (!Number.isFinite(syncDelayMs) || syncDelayMs < 0) {
      throw new RangeError(`wal: syncDelayMs must be a non-negative number, got ${syncDelayMs}`);
    }
    const files = new SegmentFiles(opts.dir, segmentBytes, logger);
    const r = recover(files, logger);
    try {
      const lastSealed = FileWal.finishRecovery(files, r);
      return new FileWal(
        files,
        r.index,
        r.segments,
        r.writeOffset,
        lastSealed,
        opts.cacheBytes ?? DEFAULT_CACHE_BYTES,
        syncDelayMs,
        opts.faults,
      );
    } catch (err) {
      for (const seg of r.segments) fs.closeSync(seg.fd);
      throw err;
    }
  }

  /**
   * Makes the recovered log ready for appends, with synchronous calls (opening is not the
   * hot path); returns whether the last segment is sealed.
   */
  private static finishRecovery(files: SegmentFiles, r: RecoveredLog): boolean {
    // A new log creates its first segment now, so the first append does not pay for it.
    if (r.segments.length === 0) r.segments.push(files.claim(1, files.segmentBytes, true));
    const last = r.segments.at(-1)!;
    // What recovery read may still be only in the page cache (the writer was killed):
    // make it durable before new records claim a durable prefix. Then seal a torn tail.
    fs.fdatasyncSync(last.fd);
    if (r.tornAt === undefined) return r.lastSealed;
    // Always room: a preallocated segment keeps SEAL_BYTES free, a growing one grows.
    const seal = Buffer.alloc(SEAL_BYTES);
    writeSealRecord(seal, 0, last.seq);
    writeFullySync(last.fd, seal, SEAL_BYTES, r.tornAt);
    fs.fdatasyncSync(last.fd);
    return true;
  }

  firstIndex(): number {
    this.checkUsable();
    return this.index.first;
  }

  lastIndex(): number {
    this.checkUsable();
    return this.index.last;
  }

  term(i: number): number {
    this.checkUsable();
    const ix = this.index;
    if (i < ix.first - 1) throw new RaftError("compacted", `term(${i}): log starts at ${ix.first}`);
    if (i > ix.last) throw new RaftError("unavailable", `term(${i}): last index is ${ix.last}`);
    return ix.term(i);
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    this.checkUsable();
    const ix = this.index;
    invariant(lo <= hi, "entries-range", () => `wal entries: lo ${lo} is above hi ${hi}`);
    if (lo < ix.first)
      throw new RaftError("compacted", `entries from ${lo}: log starts at ${ix.first}`);
    if (hi > ix.last + 1)
      throw new RaftError("unavailable", `entries to ${hi}: last index is ${ix.last}`);
    if (lo === hi) return [];
    let end = lo + 1;
    let bytes = ix.length(lo);
    while (end < hi && bytes + ix.length(end) <= maxBytes) bytes += ix.length(end++);
    const out: Entry[] = new Array(end - lo);
    let i = lo;
    // The cache holds a suffix of the log, so uncached entries form a prefix of the range.
    while (i < end && this.cache.get(i) === undefined) i++;
    if (i > lo) this.readFromDisk(lo, i, out);
    for (; i < end; i++) out[i - lo] = this.cache.get(i)!;
    return out;
  }

  async append(entries: readonly Entry[], opts: AppendOptions): Promise<void> {
    this.checkUsable();
    if (entries.length === 0) return;
    const ix = this.index;
    const first = entries[0]!.index;
    for (let k = 1; k < entries.length; k++) {
      if (entries[k]!.index !== first + k) {
        throw new InvariantViolation(
          "storage",
          "append-consecutive",
          `wal append: entry indexes must be consecutive, got ${entries[k]!.index} after ${first + k - 1}`,
        );
      }
    }
    invariant(
      first <= ix.last + 1,
      "append-no-gap",
      () => `wal append: first index ${first} leaves a gap after last index ${ix.last}`,
    );
    if (first < ix.first) {
      throw new RaftError("compacted", `append at ${first}: log starts at ${ix.first}`);
    }
    if (this.offsetsScratch.length < entries.length) {
      this.offsetsScratch = new Uint32Array(entries.length * 2);
      this.lengthsScratch = new Uint32Array(entries.length * 2);
    }
    const offsets = this.offsetsScratch;
    const lengths = this.lengthsScratch;
    const payload = entriesPayloadBytes(entries, lengths);
    const w = this.writeRecord(recordBytes(payload), opts.sync, (buf, view, at, seq, flags) =>
      writeEntriesRecord(buf, view, at, entries, seq, flags, lengths, offsets),
    );
    if (first <= ix.last) {
      ix.truncateFrom(first);
      this.cache.truncateFrom(first);
    }
    ix.pushBatch(entries, w.seq, w.fileAt, offsets, lengths);
    // The caller's own entry objects are cached: copying or re-slicing 1,024 entries per
    // batch cost more than the batch's write. Callers do not modify appended entries.
    const dataBytes = payload - BATCH_HEADER_BYTES - ENTRY_HEADER_BYTES * entries.length;
    this.cache.add(entries, dataBytes);
    this.appendCount++;
    return this.whenWritten(opts.sync);
  }

  async compact(upTo: number): Promise<void> {
    this.checkUsable();
    const ix = this.index;
    if (upTo < ix.first) return;
    if (upTo > ix.last)
      throw new RaftError("unavailable", `compact(${upTo}): last index is ${ix.last}`);
    const term = ix.term(upTo);
    this.writeRecord(MARK_BYTES, true, (buf, _view, at, seq, flags) =>
      writeMarkRecord(buf, at, RecordType.Compact, upTo, term, seq, flags),
    );
    ix.compact(upTo);
    this.cache.dropThrough(upTo);
    const current = this.segments.at(-1)!;
    const keepFrom = upTo < ix.last ? ix.seg(upTo + 1) : current.seq;
    // Files are recycled only once the marker that makes their entries unneeded is durable.
    await this.whenWritten(true);
    await this.recycleBefore(keepFrom);
  }

  async reset(after?: { index: number; term: number }): Promise<void> {
    this.checkUsable();
    const index = after?.index ?? 0;
    const term = after?.term ?? 0;
    if (!Number.isSafeInteger(index) || index < 0 || !Number.isSafeInteger(term) || term < 0) {
      throw new RangeError(
        `wal reset: index and term must be non-negative integers, got ${index}, ${term}`,
      );
    }
    this.writeRecord(MARK_BYTES, true, (buf, _view, at, seq, flags) =>
      writeMarkRecord(buf, at, RecordType.Reset, index, term, seq, flags),
    );
    this.index.reset(index, term);
    this.cache.clear(index + 1);
    const keepFrom = this.segments.at(-1)!.seq;
    await this.whenWritten(true);
    await this.recycleBefore(keepFrom);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    let syncError: unknown;
    if (this.failure === undefined) {
      // Whatever was written without a sync is synced now, as a clean shutdown promises.
      try {
        if (this.dirty) await this.whenWritten(true);
        else if (!this.io.idle()) await this.whenWritten(false);
      } catch (err) {
        syncError = err;
      }
    }
    this.closed = true;
    await this.io.stop();
    await this.files.close();
    for (const seg of this.segments) fs.closeSync(seg.fd);
    this.segments.length = 0;
    if (syncError !== undefined) throw syncError;
  }

  private checkUsable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new WalError("closed", "wal: the log is closed");
  }

  /**
   * Resolves once everything appended so far is written, and with `sync` also fdatasync'ed.
   * The open group is handed to the I/O thread now if it is idle; otherwise when it has
   * finished what it is doing, together with everything else that arrived meanwhile.
   */
  private whenWritten(sync: boolean): Promise<void> {
    if (sync) this.groupNeedsSync = true;
    const done = new Promise<void>((resolve, reject) =>
      this.groupWaiters.push({ resolve, reject }),
    );
    if (this.io.idle()) this.flushGroup();
    return done;
  }

  /** Hands the open group to the I/O thread: its staged write, then the fdatasync it needs. */
  private flushGroup(): void {
    try {
      this.publishStaged();
      if (this.groupNeedsSync && this.dirty) this.publishSync(this.segments.at(-1)!);
    } catch (err) {
      throw this.poison(err, this.segments.at(-1));
    }
    this.groupNeedsSync = false;
    if (this.groupWaiters.length === 0) return;
    this.flushed.push({ cmd: this.io.published() - 1, waiters: this.groupWaiters });
    this.groupWaiters = [];
    this.resolveDone();
  }

  private publishStaged(): void {
    const st = this.staged;
    if (st === undefined) return;
    this.staged = undefined;
    const cmd = this.io.write(st.seg.fd, st.ringAt, st.length, st.fileAt);
    this.writes.push({ cmd, seg: st.seg, from: st.fileAt, to: st.fileAt + st.length });
  }

  private publishSync(seg: Segment): void {
    this.io.sync(seg.fd);
    this.dirty = false;
    this.syncCount++;
  }

  /** The I/O thread finished commands (or failed): settle the callers waiting on them. */
  private onIoProgress(): void {
    const f = this.io.failed();
    if (f !== undefined && this.failure === undefined) {
      const err = new WalError("io-failed", f.message, { errno: f.code });
      const w = this.writes.find((x) => x.cmd === f.cmd) ?? this.writes.at(-1);
      this.poison(err, w?.seg, w?.from);
    }
    if (this.failure !== undefined) return;
    this.resolveDone();
    if (this.io.idle() && (this.staged !== undefined || this.groupWaiters.length > 0)) {
      this.flushGroup();
    }
  }

  /** Resolves the waiters of finished commands and forgets finished writes. */
  private resolveDone(): void {
    const done = this.io.done();
    const f = this.flushed;
    while (this.flushedHead < f.length && f[this.flushedHead]!.cmd < done) {
      for (const w of f[this.flushedHead++]!.waiters) w.resolve();
    }
    if (this.flushedHead === f.length) {
      this.flushed = [];
      this.flushedHead = 0;
    }
    const w = this.writes;
    while (this.writesHead < w.length && w[this.writesHead]!.cmd < done) this.writesHead++;
    if (this.writesHead === w.length) {
      this.writes = [];
      this.writesHead = 0;
    } else if (this.writesHead > 1024) {
      this.writes = w.slice(this.writesHead);
      this.writesHead = 0;
    }
  }

  /** Ring space for `bytes`; hands the staged write over first when the ring needs it. */
  private reserve(bytes: number): RingSpace {
    const space = this.io.reserve(bytes);
    if (space !== undefined) return space;
    this.publishStaged();
    return this.io.reserve(bytes)!;
  }

  /** Adds `length` encoded bytes at ring offset `ringAt` to the staged write. */
  private stage(seg: Segment, ringAt: number, fileAt: number, length: number): void {
    const st = this.staged;
    if (
      st !== undefined &&
      st.seg === seg &&
      st.ringAt + st.length === ringAt &&
      st.fileAt + st.length === fileAt
    ) {
      st.length += length;
      return;
    }
    this.publishStaged();
    this.staged = { seg, ringAt, fileAt, length };
  }

  /**
   * Blocks until the bytes of `seg` below `to` are written: a read of entries the cache no
   * longer holds, while the I/O thread has not written them yet (rare).
   */
  private ensureWritten(seg: Segment, to: number): void {
    if (this.staged?.seg === seg && this.staged.fileAt < to) this.publishStaged();
    let last = -1;
    for (let i = this.writesHead; i < this.writes.length; i++) {
      const w = this.writes[i]!;
      if (w.seg === seg && w.from < to) last = w.cmd;
    }
    if (last < 0 || this.io.done() > last) return;
    try {
      this.io.waitFor(last);
    } catch (err) {
      throw this.poison(err, seg);
    }
  }

  /**
   * Encodes one record of `size` bytes (filled by `fill`) at the end of the log into the
   * open group, moving to a new segment first when it does not fit. Returns where the
   * record starts in the file.
   */
  private writeRecord(
    size: number,
    sync: boolean,
    fill: (buf: Buffer, view: DataView, at: number, seq: number, flags: number) => number,
  ): { fileAt: number; seq: number } {
    let seg = this.segments.at(-1);
    try {
      const checkpoint = this.writeOffset === 0 ? MARK_BYTES : 0;
      const padRoom = size >= LARGE_WRITE_BYTES ? PAGE_BYTES + HEADER_BYTES : 0;
      const needed = this.writeOffset + checkpoint + size + padRoom + SEAL_BYTES;
      if (seg === undefined || this.lastSealed) {
        seg = this.startSegment(size + padRoom);
      } else if (needed > seg.capacity) {
        // An empty segment takes an oversized record by growing; any other moves on.
        if (this.writeOffset === 0) seg.capacity = needed;
        else seg = this.startSegment(size + padRoom);
      }
      // Unsynced writes already handed over, and nothing staged: sync them first, so this
      // record may claim a durable prefix.
      if (sync && this.dirty && this.staged === undefined) this.publishSync(seg);
      const flags = this.dirty ? 0 : FLAG_PREFIX_DURABLE;
      const withCheckpoint = this.writeOffset === 0;
      let total = (withCheckpoint ? MARK_BYTES : 0) + size;
      let pad = 0;
      if (padRoom > 0) {
        pad = (PAGE_BYTES - ((this.writeOffset + total) % PAGE_BYTES)) % PAGE_BYTES;
        if (pad > 0 && pad < HEADER_BYTES) pad += PAGE_BYTES;
      }
      const { buf, view, at: base } = this.reserve(total + pad);
      let at = base;
      if (withCheckpoint) {
        const { last } = this.index;
        const lastTerm = this.index.lastTerm();
        at = writeMarkRecord(buf, base, RecordType.Checkpoint, last, lastTerm, seg.seq, flags);
      }
      // Only the first record of a write may claim a durable prefix: a torn write can keep
      // its later pages and lose its first one.
      fill(buf, view, at, seg.seq, withCheckpoint ? 0 : flags);
      if (pad > 0) writePadRecord(buf, base + total, pad, seg.seq, 0);
      total += pad;
      const fileAt = this.writeOffset + (at - base);
      this.stage(seg, base, this.writeOffset, total);
      this.dirty = true;
      this.writeOffset += total;
      this.writesInSegment++;
      // Zeros pay off for small writes (each fdatasync skips block allocation) but not
      // for large ones, where writing every byte twice costs more than allocating; except
      // while the log has one segment: nothing can be recycled before it fills. Later
      // segments of a log of large writes reuse compacted ones (recycle() keeps grown files
      // too), or grow when compaction does not keep up.
      if (
        this.writeOffset > seg.capacity / 2 &&
        (this.segments.length === 1 || this.writeOffset < this.writesInSegment * LARGE_WRITE_BYTES)
      ) {
        this.files.prepareSpare();
      }
      return { fileAt, seq: seg.seq };
    } catch (err) {
      throw this.poison(err, seg);
    }
  }

  /**
   * Seals the current segment, syncs it (the open group's appends are durable with that
   * fdatasync) and claims the next one.
   */
  private startSegment(recordSize: number): Segment {
    const current = this.segments.at(-1);
    if (current !== undefined) {
      // Always room: preallocated space keeps SEAL_BYTES free, a growing file grows.
      if (!this.lastSealed) {
        const { buf, at } = this.reserve(SEAL_BYTES);
        writeSealRecord(buf, at, current.seq);
        this.stage(current, at, this.writeOffset, SEAL_BYTES);
        this.dirty = true;
      }
      this.publishStaged();
      if (this.dirty) this.publishSync(current);
      this.groupNeedsSync = false;
      if (this.groupWaiters.length > 0) {
        this.flushed.push({ cmd: this.io.published() - 1, waiters: this.groupWaiters });
        this.groupWaiters = [];
      }
    }
    const seq = current === undefined ? 1 : current.seq + 1;
    const seg = this.files.claim(seq, alignUp(MARK_BYTES + recordSize + SEAL_BYTES), false);
    this.segments.push(seg);
    this.writeOffset = 0;
    this.writesInSegment = 0;
    this.lastSealed = false;
    return seg;
  }

  /** Marks the log failed and rejects everyone waiting on it. */
  private poison(err: unknown, seg: Segment | undefined, offset = this.writeOffset): Error {
    if (this.failure !== undefined) return this.failure;
    const code = errnoCode(err);
    const where = seg === undefined ? this.files.dir : `${seg.path} at offset ${offset}`;
    // Only a fault of the disk is the user's to fix; anything else is the log's own error.
    const diskFull = code === "ENOSPC" || code === "EDQUOT";
    const message = `wal: writing ${where} failed (${code ?? String(err)}${diskFull ? ": the disk is full" : ""}); the log is unusable and the node must stop`;
    const failure =
      code === undefined
        ? new WalError("io-failed", message, { cause: err })
        : new StorageFault(diskFull ? "disk-full" : "io-failed", message, {
            errno: code,
            cause: err,
          });
    this.failure = failure;
    this.staged = undefined;
    const waiting = this.groupWaiters;
    this.groupWaiters = [];
    for (let i = this.flushedHead; i < this.flushed.length; i++) {
      for (const w of this.flushed[i]!.waiters) waiting.push(w);
    }
    this.flushed = [];
    this.flushedHead = 0;
    for (const w of waiting) w.reject(failure);
    return failure;
  }

  /**
   * Recycles the segments before the one with sequence number `seq`. Passes run one after
   * another (compactions can overlap), and see recyclePass for the order within one.
   */
  private recycleBefore(seq: number): Promise<void> {
    const pass = this.recycling.then(() => this.recyclePass(seq));
    this.recycling = pass.catch(() => undefined);
    return pass;
  }

  /**
   * Lowest segment first, each renamed or removed before the next is touched: recovery
   * refuses a log whose segment numbers have a gap, so a crash in the middle of a pass must
   * leave a contiguous run. Removals started together could finish in any order (a kill
   * once left segments 14 and 16 without 15: the log could not be opened).
   */
  private async recyclePass(seq: number): Promise<void> {
    let recycled = false;
    try {
      // A log closed or failed meanwhile keeps its files; the next open recovers them.
      while (
        !this.closed &&
        this.failure === undefined &&
        this.segments.length > 1 &&
        this.segments[0]!.seq < seq
      ) {
        const removal = this.files.recycle(this.segments.shift()!);
        recycled = true;
        if (removal !== undefined) await removal;
      }
      if (recycled) this.files.syncDir();
    } catch (err) {
      throw this.poison(err, undefined);
    }
  }

  private readFromDisk(lo: number, hi: number, out: Entry[]): void {
    const ix = this.index;
    const base = this.segments[0]!.seq;
    let i = lo;
    while (i < hi) {
      // One read per run of entries that lie close together in the same segment.
      const seq = ix.seg(i);
      let j = i + 1;
      while (
        j < hi &&
        ix.seg(j) === seq &&
        ix.offset(j) - ix.offset(j - 1) - ix.length(j - 1) <= MAX_READ_GAP
      ) {
        j++;
      }
      const from = ix.offset(i);
      const to = ix.offset(j - 1) + ix.length(j - 1);
      const buf = Buffer.allocUnsafe(to - from);
      const seg = this.segments[seq - base]!;
      this.ensureWritten(seg, to);
      const fd = seg.fd;
      let got = 0;
      while (got < buf.length) {
        const n = fs.readSync(fd, buf, got, buf.length - got, from + got);
        invariant(
          n !== 0,
          "segment-covers-index",
          () => `segment ${seq} is shorter than its index says`,
        );
        got += n;
      }
      for (let k = i; k < j; k++) {
        const at = ix.offset(k) - from;
        out[k - lo] = {
          term: ix.term(k),
          index: k,
          type: ix.type(k),
          data: buf.subarray(at, at + ix.length(k)),
        };
      }
      i = j;
    }
  }
}

export function openFileWal(opts: FileWalOptions): Promise<FileWal> {
  return FileWal.open(opts);
}
