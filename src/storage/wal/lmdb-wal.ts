// The write-ahead log on lmdb: one key per entry (its index, so keys sort in log order), the
// value a 9-byte header (type, term) followed by the entry data. Term lookups and recent reads
// are served from memory: a run-length term index and a cache of the latest entries.
//
// Appends (and reset) are queued as lmdb's asynchronous writes: the puts of one event-loop
// turn commit in one transaction on lmdb's write thread, in the order they were made, and
// a synced append resolves once that commit is flushed (the commit promise's `flushed`:
// lmdb fdatasyncs the data pages, then writes the meta page through its O_DSYNC
// descriptor). The event loop never waits for a commit. The log's in-memory view (term
// runs, cache) moves at once, so the next append can be checked and queued right behind.
// (lmdb's `transaction()` callbacks never ran on this machine's build, and a synchronous
// transaction would block the loop for the whole durable commit: ~300-400 µs.) Compaction
// (not synced: losing it in a crash leaves entries that are still valid) is queued the same
// way; it only touches keys below any later append, and reset() waits for it before
// rewriting the start.
import type { Database, RootDatabase } from "lmdb";
import type { Logger } from "../../raft/api.js";
import { silentLogger } from "../../raft/api.js";
import { RaftError } from "../../raft/errors.js";
import { type Entry, EntryType } from "../../raft/types.js";
import { InvariantViolation, invariant, WalError } from "../errors.js";
import { type CommitPromise, type LmdbEnvOptions, openLmdbEnv, settle } from "../lmdb-env.js";
import { StorageFault } from "../storage-fault.js";
import { EntryCache } from "./entry-cache.js";
import { TermRuns } from "./lmdb-term-runs.js";
import type { AppendOptions, Wal } from "./wal.js";

const HEADER = 9;
const TWO_POW_32 = 0x1_0000_0000;
/** Meta key holding the (index, term) just before the first live entry. */
const META_PREV = "prev";
const DEFAULT_CACHE_BYTES = 16 << 20;

export const LMDB_WAL_SYNC_MODE =
  "lmdb asynchronous commit per event-loop turn of appends, awaited until flushed: " +
  "fdatasync of the data pages, then an O_DSYNC write of the meta page";

/** An append checked and encoded, ready to be written inside a transaction. */
export interface PreparedAppend {
  readonly entries: readonly Entry[];
  /** Encoded values, one per entry, in one shared buffer. */
  readonly values: readonly Buffer[];
  /** The log's last index when prepared: entries above the first one's are replaced. */
  readonly lastBefore: number;
}

interface PrevPoint {
  index: number;
  term: number;
}

function isPrevPoint(v: unknown): v is PrevPoint {
  const p = v as PrevPoint;
  return (
    typeof v === "object" &&
    v !== null &&
    Number.isSafeInteger(p.index) &&
    p.index >= 0 &&
    Number.isSafeInteger(p.term) &&
    p.term >= 0
  );
}

export interface LmdbWalOptions {
  /** Label used in messages (the directory). */
  where: string;
  logger?: Logger;
  /** Bytes of recent entries kept in memory for replication reads. */
  cacheBytes?: number;
  /** Whether close() closes the environment (false when a Storage shares it). */
  ownsEnv: boolean;
  /** Milliseconds added after each synced commit's flush (`--disk-delay`). */
  syncDelayMs?: number;
}

export class LmdbWal implements Wal {
  readonly kind = "lmdb";
  readonly syncMode = LMDB_WAL_SYNC_MODE;

  private readonly log: Database<Buffer, number>;
  private readonly meta: Database<PrevPoint, string>;
  private readonly cache: EntryCache;
  private runs: TermRuns;
  private failure: Error | undefined;
  private closed = false;
  /** The latest compaction's commit (asynchronous); reset() waits for it. */
  private compaction: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly env: RootDatabase,
    private readonly opts: LmdbWalOptions,
  ) {
    this.log = env.openDB<Buffer, number>({ name: "wal-log", encoding: "binary" });
    this.meta = env.openDB<PrevPoint, string>({ name: "wal-meta", encoding: "json" });
    this.cache = new EntryCache(opts.cacheBytes ?? DEFAULT_CACHE_BYTES);
    this.runs = this.recover();
    this.cache.clear(this.runs.last + 1);
  }

  /** A log kept in `env` (its own databases inside it). */
  static attach(env: RootDatabase, opts: LmdbWalOptions): LmdbWal {
    return new LmdbWal(env, opts);
  }

  firstIndex(): number {
    this.checkReadable();
    return this.runs.prevIndex + 1;
  }

  lastIndex(): number {
    this.checkReadable();
    return this.runs.last;
  }

  term(i: number): number {
    this.checkReadable();
    const runs = this.runs;
    if (i < runs.prevIndex) {
      throw new RaftError("compacted", `term(${i}): log starts at ${runs.prevIndex + 1}`);
    }
    if (i > runs.last) throw new RaftError("unavailable", `term(${i}): last index is ${runs.last}`);
    return runs.term(i);
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    this.checkReadable();
    const first = this.runs.prevIndex + 1;
    const last = this.runs.last;
    invariant(lo <= hi, "entries-range", () => `wal entries: lo ${lo} is above hi ${hi}`);
    if (lo < first) throw new RaftError("compacted", `entries from ${lo}: log starts at ${first}`);
    if (hi > last + 1)
      throw new RaftError("unavailable", `entries to ${hi}: last index is ${last}`);
    const out: Entry[] = [];
    let bytes = 0;
    let i = lo;
    while (i < hi) {
      let e = this.cache.get(i);
      if (e === undefined) {
        // Older than the cache: read from lmdb up to where the cache begins.
        for (const { key, value } of this.log.getRange({ start: i, end: hi })) {
          if (this.cache.get(key) !== undefined) break;
          e = decodeEntry(key, value);
          bytes += e.data.byteLength;
          if (out.length > 0 && bytes > maxBytes) return out;
          out.push(e);
          i++;
        }
        continue;
      }
      bytes += e.data.byteLength;
      if (out.length > 0 && bytes > maxBytes) return out;
      out.push(e);
      i++;
    }
    return out;
  }

  /** Queues the entries' commit; resolves once it is visible, with `sync` once flushed. */
  async append(entries: readonly Entry[], opts: AppendOptions): Promise<void> {
    const prepared = this.prepareAppend(entries);
    if (prepared === undefined) return;
    let commit: CommitPromise;
    try {
      commit = this.queueAppend(prepared);
    } catch (err) {
      throw this.poison(err);
    }
    this.applyAppend(prepared);
    await this.settle(commit, opts.sync);
  }

  /**
   * Checks and encodes an append (undefined when there is nothing to write). Throws on bad
   * input before anything is written. The caller queues it with queueAppend() and records it
   * in memory with applyAppend().
   */
  prepareAppend(entries: readonly Entry[]): PreparedAppend | undefined {
    this.checkWritable();
    if (entries.length === 0) return undefined;
    const runs = this.runs;
    const first = entries[0]!.index;
    const last = runs.last;
    invariant(
      first <= last + 1,
      "append-no-gap",
      () => `wal append: first index ${first} leaves a gap after last index ${last}`,
    );
    if (first <= runs.prevIndex) {
      throw new RaftError("compacted", `append at ${first}: log starts at ${runs.prevIndex + 1}`);
    }
    let prevTerm = runs.term(first - 1);
    let size = 0;
    for (let k = 0; k < entries.length; k++) {
      const e = entries[k]!;
      if (e.index !== first + k) {
        throw new InvariantViolation(
          "storage",
          "append-consecutive",
          `wal append: entry indexes must be consecutive, got ${e.index} after ${first + k - 1}`,
        );
      }
      if (e.term < prevTerm || !Number.isSafeInteger(e.term)) {
        throw new InvariantViolation(
          "storage",
          "append-terms-ascend",
          `wal append: entry ${e.index} has term ${e.term}, below the term ${prevTerm} before it`,
        );
      }
      prevTerm = e.term;
      size += HEADER + e.data.byteLength;
    }
    // One buffer for the whole batch, sliced per entry.
    const buf = Buffer.allocUnsafe(size);
    const values: Buffer[] = new Array(entries.length);
    let pos = 0;
    for (let k = 0; k < entries.length; k++) {
      const end = encodeEntryInto(buf, pos, entries[k]!);
      values[k] = buf.subarray(pos, end);
      pos = end;
    }
    return { entries, values, lastBefore: last };
  }

  /**
   * Queues a prepared append's writes (removals of a replaced suffix, then one put per
   * entry); they commit with the other writes of this event-loop turn. Returns the commit.
   */
  queueAppend(p: PreparedAppend): CommitPromise {
    const first = p.entries[0]!.index;
    for (let i = p.lastBefore; i >= first; i--) this.log.remove(i);
    let commit: CommitPromise | undefined;
    for (let k = 0; k < p.entries.length; k++) commit = this.log.put(first + k, p.values[k]!);
    return commit!;
  }

  /** Records a queued append in memory (the log's view moves before the commit lands). */
  applyAppend(p: PreparedAppend): void {
    const runs = this.runs;
    const first = p.entries[0]!.index;
    if (first <= p.lastBefore) {
      runs.truncateFrom(first);
      this.cache.truncateFrom(first);
    }
    const kept: Entry[] = new Array(p.entries.length);
    for (let k = 0; k < p.entries.length; k++) {
      const e = p.entries[k]!;
      runs.push(e.term);
      kept[k] = { term: e.term, index: e.index, type: e.type, data: e.data };
    }
    this.cache.add(kept);
  }

  async compact(upTo: number): Promise<void> {
    this.checkWritable();
    const runs = this.runs;
    if (upTo <= runs.prevIndex) return;
    if (upTo > runs.last) {
      throw new RaftError("unavailable", `compact(${upTo}): last index is ${runs.last}`);
    }
    const term = runs.term(upTo);
    let commit: CommitPromise;
    try {
      for (let i = runs.prevIndex + 1; i <= upTo; i++) this.log.remove(i);
      commit = this.meta.put(META_PREV, { index: upTo, term });
    } catch (err) {
      throw this.poison(err);
    }
    runs.compact(upTo);
    this.cache.dropThrough(upTo);
    this.compaction = commit.then(
      () => undefined,
      () => undefined,
    );
    // Not synced: losing a compaction in a crash leaves entries that are still valid.
    await this.settle(commit, false);
  }

  async reset(after?: { index: number; term: number }): Promise<void> {
    this.checkWritable();
    const index = after?.index ?? 0;
    const term = after?.term ?? 0;
    // A compaction still in flight would rewrite the start point after this reset.
    let pending: Promise<unknown>;
    do {
      pending = this.compaction;
      await pending;
    } while (pending !== this.compaction);
    this.checkWritable();
    let commit: CommitPromise;
    try {
      // Queued behind every append made so far, so none of them lands after the wipe.
      this.log.clearAsync();
      commit = this.meta.put(META_PREV, { index, term });
    } catch (err) {
      throw this.poison(err);
    }
    this.runs.reset(index, term);
    this.cache.clear(index + 1);
    await this.settle(commit, true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.opts.ownsEnv) await this.env.close();
  }

  /** Marks the log failed (a shared transaction that held its writes failed). */
  fail(err: unknown): Error {
    return this.poison(err);
  }

  private async settle(commit: CommitPromise, sync: boolean): Promise<void> {
    try {
      await settle(commit, sync, this.env, this.opts.syncDelayMs);
    } catch (err) {
      throw this.poison(err);
    }
  }

  /** A failed write leaves memory ahead of disk: refuse everything from then on. */
  private poison(err: unknown): Error {
    if (this.failure === undefined) {
      const reason = err instanceof Error ? err.message : String(err);
      this.failure = new StorageFault(
        "io-failed",
        `lmdb wal in ${this.opts.where}: write failed (${reason}); the log can no longer be ` +
          "trusted: stop the node, free disk space or fix the directory, then restart",
        { cause: err },
      );
      (this.opts.logger ?? silentLogger).warn(this.failure.message);
    }
    return this.failure;
  }

  private checkReadable(): void {
    if (this.closed) throw new WalError("closed", "wal: the log is closed");
  }

  private checkWritable(): void {
    if (this.failure !== undefined) throw this.failure;
    this.checkReadable();
  }

  /** Rebuilds the in-memory view from what lmdb holds. */
  private recover(): TermRuns {
    const stored = this.meta.get(META_PREV);
    if (stored !== undefined && !isPrevPoint(stored)) {
      throw new WalError(
        "corrupt",
        `lmdb wal in ${this.opts.where}: its start point is damaged; remove the directory to start over`,
      );
    }
    const prev: PrevPoint = stored ?? { index: 0, term: 0 };
    let firstKey: number | undefined;
    let lastKey: number | undefined;
    for (const k of this.log.getKeys({ limit: 1 })) firstKey = k;
    for (const k of this.log.getKeys({ reverse: true, limit: 1 })) lastKey = k;
    if (firstKey === undefined || lastKey === undefined) {
      return new TermRuns(prev.index, prev.term);
    }
    if (firstKey !== prev.index + 1) {
      throw new WalError(
        "corrupt",
        `lmdb wal in ${this.opts.where}: first stored entry is ${firstKey}, expected ` +
          `${prev.index + 1}; the log is damaged: remove the directory to start over`,
      );
    }
    const termAt = (i: number): number => {
      const v = this.log.getBinaryFast(i);
      if (v === undefined || v.length < HEADER) {
        throw new WalError(
          "corrupt",
          `lmdb wal in ${this.opts.where}: entry ${i} is missing or damaged; remove the ` +
            "directory to start over",
        );
      }
      return readTerm(v, 1);
    };
    const runs = TermRuns.rebuild(prev.index, prev.term, lastKey, termAt);
    this.opts.logger?.debug(
      `lmdb wal in ${this.opts.where}: recovered entries ${firstKey}..${lastKey}`,
    );
    return runs;
  }
}

function readTerm(b: Uint8Array, pos: number): number {
  const lo = (b[pos]! | (b[pos + 1]! << 8) | (b[pos + 2]! << 16) | (b[pos + 3]! << 24)) >>> 0;
  const hi = (b[pos + 4]! | (b[pos + 5]! << 8) | (b[pos + 6]! << 16) | (b[pos + 7]! << 24)) >>> 0;
  return hi * TWO_POW_32 + lo;
}

function encodeEntryInto(buf: Buffer, pos: number, e: Entry): number {
  buf[pos] = e.type;
  buf.writeUInt32LE(e.term % TWO_POW_32, pos + 1);
  buf.writeUInt32LE(Math.floor(e.term / TWO_POW_32), pos + 5);
  buf.set(e.data, pos + HEADER);
  return pos + HEADER + e.data.byteLength;
}

function decodeEntry(index: number, value: Uint8Array): Entry {
  const type = value[0] === EntryType.ConfChange ? EntryType.ConfChange : EntryType.Normal;
  return { index, term: readTerm(value, 1), type, data: value.subarray(HEADER) };
}

/** Opens (creating if needed) the lmdb log kept in `opts.dir`. */
export async function openLmdbWal(opts: {
  dir: string;
  logger?: Logger;
  /** Tests only: a small map simulates a full disk. */
  env?: LmdbEnvOptions;
  syncDelayMs?: number;
}): Promise<Wal> {
  const env = openLmdbEnv(opts.dir, opts.env);
  try {
    return LmdbWal.attach(env, {
      where: opts.dir,
      logger: opts.logger,
      ownsEnv: true,
      syncDelayMs: opts.syncDelayMs,
    });
  } catch (err) {
    await env.close();
    throw err;
  }
}
