// Segment files of the file log: naming, creation with preallocated space, a small pool
// of spare files, and recycling. A segment is written in place from offset 0 up to its
// capacity (the configured size, or more for one oversized batch).
//
// Space is preallocated by writing zeros, not by ftruncate: on this machine's ext4 a
// 4 KiB write + fdatasync into zero-filled space took ~130–220 µs (p50), into a sparse
// ftruncate'd file ~280–520 µs and at the end of a growing file ~210–330 µs, because
// the latter two make every fdatasync also commit block allocation metadata. Zero-filling
// 64 MiB costs ~180 ms, so it happens in the background, one spare ahead, and a
// compacted segment is renamed into the spare pool instead of being deleted. When the
// log outruns the background (no spare ready), the next segment is a file that grows as
// it is written rather than an append stalled on zeros.
//
// The background work runs on a worker thread that reports completion through shared
// memory, not through the event loop: a writer that appends in a tight loop of already
// resolved promises never lets the loop run I/O callbacks, and with fs.promises the spare
// would never be finished when the next segment is needed.
import * as fs from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { Logger } from "../../raft/api.js";
import { errnoCode, formatBytes, StorageFault } from "../storage-fault.js";

export interface Segment {
  seq: number;
  path: string;
  fd: number;
  /** Bytes in the file when it was opened. */
  size: number;
  /** Bytes the writer may fill: the preallocated size, or the limit of a growing file. */
  capacity: number;
}

const SEGMENT_NAME = /^([0-9a-f]{16})\.wal$/;
const SPARE_NAME = /^spare-(\d+)\.wal$/;
const PARTIAL_SUFFIX = ".tmp";
const ZERO_CHUNK_BYTES = 1 << 20;
const MAX_SPARES = 2;

const PREPARING = 0;
const PREPARED = 1;
const FAILED = 2;

/** Worker body (plain JavaScript: it is evaluated as is, also when the rest runs compiled). */
const ZERO_FILL_WORKER = `
const { workerData } = require("node:worker_threads");
const fs = require("node:fs");
const { partial, spare, bytes, chunk, state } = workerData;
const flag = new Int32Array(state);
try {
  const fd = fs.openSync(partial, "w");
  try {
    const zeros = Buffer.alloc(Math.min(chunk, bytes));
    for (let at = 0; at < bytes; at += zeros.length) {
      fs.writeSync(fd, zeros, 0, Math.min(zeros.length, bytes - at), at);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(partial, spare);
  Atomics.store(flag, 0, ${PREPARED});
} catch (err) {
  try { fs.rmSync(partial, { force: true }); } catch {}
  Atomics.store(flag, 0, ${FAILED});
}
`;

interface Preparation {
  worker: Worker;
  spare: string;
  state: Int32Array;
  exited: Promise<void>;
}

export function segmentFileName(seq: number): string {
  return `${seq.toString(16).padStart(16, "0")}.wal`;
}

export class SegmentFiles {
  private spares: string[] = [];
  private nextSpareId = 0;
  private preparing: Preparation | undefined;
  /** Removals of recycled segments still running. */
  private readonly removals = new Set<Promise<void>>();
  private closed = false;

  constructor(
    readonly dir: string,
    readonly segmentBytes: number,
    private readonly logger: Logger,
  ) {}

  /**
   * Lists the segments in `dir` in sequence order and adopts its spare files. Partially
   * created files (a crash while preallocating) are deleted.
   */
  scanDir(): { seq: number; path: string }[] {
    const segments: { seq: number; path: string }[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const full = path.join(this.dir, name);
      const seg = SEGMENT_NAME.exec(name);
      const spare = SPARE_NAME.exec(name);
      if (seg) segments.push({ seq: Number.parseInt(seg[1]!, 16), path: full });
      else if (spare) {
        this.spares.push(full);
        this.nextSpareId = Math.max(this.nextSpareId, Number(spare[1]) + 1);
      } else if (name.endsWith(PARTIAL_SUFFIX)) fs.rmSync(full, { force: true });
    }
    return segments.sort((a, b) => a.seq - b.seq);
  }

  openExisting(seq: number, file: string): Segment {
    const fd = fs.openSync(file, "r+");
    const size = fs.fstatSync(fd).size;
    // A file created to grow may keep growing up to the configured size.
    return { seq, path: file, fd, size, capacity: Math.max(size, this.segmentBytes) };
  }

  /**
   * Makes segment `seq` ready for writing, with room for at least `minBytes`: a spare
   * renamed if one is ready; otherwise a zero-filled file when `canWait` (opening a new
   * log), or else an empty file that grows as it is written, so that an append never
   * waits ~180 ms for zeros (growing costs ~30 % more per fdatasync, for one segment).
   * Its name is durable when this returns.
   */
  claim(seq: number, minBytes: number, canWait: boolean): Segment {
    const file = path.join(this.dir, segmentFileName(seq));
    this.collectSpare();
    const capacity = Math.max(this.segmentBytes, minBytes);
    const spare = minBytes <= this.segmentBytes ? this.spares.shift() : undefined;
    if (spare !== undefined) fs.renameSync(spare, file);
    else if (canWait) this.createZeroFilled(file, capacity);
    else fs.closeSync(fs.openSync(file, "wx"));
    this.syncDir();
    const seg = this.openExisting(seq, file);
    seg.capacity = Math.max(seg.capacity, capacity);
    return seg;
  }

  /**
   * Turns a segment whose entries are all compacted into a spare, or deletes it. A file that
   * grew as it was written is recycled like a zero-filled one: once written, its blocks are
   * allocated, so overwriting it costs an fdatasync no more than zero-filled space does (at
   * 256 KiB per write + fdatasync: ~0.45–0.55 ms p50, against ~1.6–2.2 ms into a growing
   * file), and reusing it costs no zeros. A removal runs off the event loop (unlinking 64 MiB
   * took 28 ms on this machine's discard-mounted ext4); the promise settles when it is done.
   */
  recycle(seg: Segment): Promise<void> | undefined {
    const size = fs.fstatSync(seg.fd).size;
    fs.closeSync(seg.fd);
    const pooled = this.spares.length + (this.preparing === undefined ? 0 : 1);
    // At least half allocated: a sealed segment is nearly full, a segment that a compaction
    // or reset cut short is not worth keeping.
    if (size >= this.segmentBytes / 2 && size <= this.segmentBytes && pooled < MAX_SPARES) {
      const spare = path.join(this.dir, `spare-${this.nextSpareId++}.wal`);
      fs.renameSync(seg.path, spare);
      this.spares.push(spare);
      return undefined;
    }
    return this.remove(seg.path);
  }

  /** Removes `file` off the event loop; close() waits for it. */
  private remove(file: string): Promise<void> {
    const removal = fs.promises.rm(file, { force: true }).finally(() => {
      this.removals.delete(removal);
    });
    this.removals.add(removal);
    return removal;
  }

  /** Deletes a segment file outright (one whose content must never be reused). */
  discard(seg: Segment): void {
    fs.closeSync(seg.fd);
    fs.rmSync(seg.path, { force: true });
  }

  /** Makes renames and creations in the directory durable. */
  syncDir(): void {
    const fd = fs.openSync(this.dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /**
   * Waits for a background preallocation and for removals to finish; no new preallocation
   * starts afterwards.
   */
  async close(): Promise<void> {
    this.closed = true;
    // Unreferenced so a running preallocation never keeps a finished process alive;
    // waiting for it needs the reference back.
    this.preparing?.worker.ref();
    await this.preparing?.exited;
    this.collectSpare();
    await Promise.allSettled([...this.removals]);
  }

  /**
   * Zero-fills a new segment. When the space is not there (checked first, and a write
   * may still fail on a disk that others fill), the partial file is removed so that it
   * does not keep the disk full, and the error says how much a segment needs.
   */
  private createZeroFilled(file: string, bytes: number): void {
    const free = freeBytes(this.dir);
    if (free !== undefined && free < bytes) throw this.noRoom(file, bytes, "ENOSPC", free);
    let fd: number | undefined;
    try {
      fd = fs.openSync(file, "w");
      const zeros = Buffer.alloc(Math.min(ZERO_CHUNK_BYTES, bytes));
      for (let at = 0; at < bytes; at += zeros.length) {
        fs.writeSync(fd, zeros, 0, Math.min(zeros.length, bytes - at), at);
      }
      fs.fsyncSync(fd);
    } catch (err) {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
      fs.rmSync(file, { force: true });
      throw this.noRoom(file, bytes, errnoCode(err) ?? String(err), freeBytes(this.dir));
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }

  private noRoom(file: string, bytes: number, cause: string, free: number | undefined): Error {
    const freeText = free === undefined ? "" : `, ${formatBytes(free)} free`;
    return new StorageFault(
      "disk-full",
      `wal: cannot create segment ${file} (${cause}): segments are preallocated to ` +
        `${formatBytes(bytes)} each${freeText}; free some space or pass another --data-dir`,
    );
  }

  /**
   * Starts preparing a spare unless one is ready or on its way. Written off the main
   * thread so no append waits for it; the log asks once its segment is half full, so the
   * 64 MiB of zeros do not compete with the appends right after opening.
   */
  prepareSpare(): void {
    this.collectSpare();
    if (this.closed || this.preparing !== undefined || this.spares.length > 0) return;
    const spare = path.join(this.dir, `spare-${this.nextSpareId++}.wal`);
    const state = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(ZERO_FILL_WORKER, {
      eval: true,
      workerData: {
        partial: spare + PARTIAL_SUFFIX,
        spare,
        bytes: this.segmentBytes,
        chunk: ZERO_CHUNK_BYTES,
        state: state.buffer,
      },
    });
    worker.unref();
    const exited = new Promise<void>((resolve) => {
      const done = () => {
        // A worker that died before reporting (it could not start) counts as failed.
        Atomics.compareExchange(state, 0, PREPARING, FAILED);
        resolve();
      };
      worker.once("exit", done);
      worker.once("error", done);
    });
    this.preparing = { worker, spare, state, exited };
  }

  /** Adopts the spare the worker finished, if it has. */
  private collectSpare(): void {
    const p = this.preparing;
    if (p === undefined) return;
    const state = Atomics.load(p.state, 0);
    if (state === PREPARING) return;
    this.preparing = undefined;
    if (state === FAILED) {
      // Not fatal: the next segment is then created when it is needed.
      this.logger.warn(`wal: preallocating ${p.spare} failed; segments will be created on demand`);
    } else if (this.spares.length < MAX_SPARES) {
      this.spares.push(p.spare);
    } else {
      // A failed removal leaves a spare the next open adopts.
      this.remove(p.spare).catch(() => {});
    }
  }
}

/** Bytes an unprivileged writer may still use in `dir`, if the system says. */
function freeBytes(dir: string): number | undefined {
  try {
    const st = fs.statfsSync(dir);
    return st.bavail * st.bsize;
  } catch {
    return undefined;
  }
}
