// Log compaction during runs: every node drops the log behind its applied index, so that
// the WAL's segments, its entry cache and an in-memory log stay bounded however long a run
// lasts. A follower that falls behind the compacted point is caught up with a snapshot of
// the leader's engine (the core asks the log view for one; see storage/log-view.ts).
//
// Policy (`--compact-every N`, entries or bytes): once N entries (or N bytes of entry data)
// have been applied beyond what the log must keep, the log is compacted to N behind the
// applied index. The log then holds between N and 2N applied entries plus what is not yet
// applied: the last N stay so that a follower that lags by less than N catches up from the
// log and not by a snapshot. Both bounds at once (`50k,64MiB`, the default): whichever is
// reached first, so that a log of large entries does not hold gigabytes and a log of small
// ones does not hold millions of entries.
//
// Safety. Only applied entries are dropped, and only once the engine's applied state is
// durable through the compaction point (PeerStorage.flushApplied(target)): a durable log
// must never start after a durable engine's applied point, or a restart would find entries
// missing. The wait does not hasten the engine's write-back at first: the lmdb engine
// answers once its own schedule has written the state through the point; only once the
// log's applied part is DURABLE_LAG_INTERVALS intervals long is the engine asked to write
// back now (docs/decisions.md, "lmdb write-backs when the log needs them"). When it answers,
// the log is compacted as far as the policy allows within the engine's durable applied
// index, which is usually past the point asked for. So the log holds at most ~10 intervals
// plus one write-back's worth of entries. On the leader, a
// follower that is being sent a snapshot and is still active holds compaction at the
// snapshot's index, so that once installed it continues from the log rather than needing a
// second snapshot (at full speed the leader can compact past a 100k-key snapshot before it
// has been installed).
//
// Cost. Compaction is started from the peer loop between turns, in steps of at most
// STEP_ENTRIES entries, one step in flight at a time. The loop does not wait for a step:
// every WAL drops the entries from memory at once and only then waits for its marker (file:
// an fdatasync) or its transaction (lmdb: one key deleted per entry; 8,192 took 30-130 ms
// to commit, and a loop that waited for it ran lmdb + lmdb ~30 % slower). An epoch reset
// and stop wait for the step in flight (idle()).
import type { Status } from "../raft/api.js";
import type { Entry } from "../raft/types.js";
import type { PeerStorage } from "./contracts.js";
import {
  COMPACTION_STEP_ENTRIES,
  DEFAULT_COMPACT_EVERY_BYTES,
  DEFAULT_COMPACT_EVERY_ENTRIES,
  DURABLE_LAG_INTERVALS,
} from "./limits.js";

export type CompactEvery =
  | { unit: "entries"; n: number }
  | { unit: "bytes"; n: number }
  /** Whichever bound is reached first. */
  | { unit: "either"; entries: number; bytes: number }
  | { unit: "off" };

/** The default policy; limits.ts says why its sizes. */
export const DEFAULT_COMPACT_EVERY: CompactEvery = {
  unit: "either",
  entries: DEFAULT_COMPACT_EVERY_ENTRIES,
  bytes: DEFAULT_COMPACT_EVERY_BYTES,
};

/** Entries dropped in one compaction step (one step per loop turn); see limits.ts. */
export const STEP_ENTRIES = COMPACTION_STEP_ENTRIES;

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/**
 * Parses `--compact-every`: a count of entries (50000, 50k), bytes with a unit (64MiB,
 * 512KiB, 100MB), both (50k,64MiB: whichever first), or "off". Throws a RangeError with a
 * message fit for the user.
 */
export function parseCompactEvery(text: string): CompactEvery {
  const t = text.trim().toLowerCase();
  if (t === "off" || t === "0") return { unit: "off" };
  const parts = t.split(",");
  if (parts.length === 2) {
    const a = parseOne(parts[0]!);
    const b = parseOne(parts[1]!);
    if (a?.unit === "entries" && b?.unit === "bytes") {
      return { unit: "either", entries: a.n, bytes: b.n };
    }
    if (a?.unit === "bytes" && b?.unit === "entries") {
      return { unit: "either", entries: b.n, bytes: a.n };
    }
  } else {
    const one = parseOne(t);
    if (one !== undefined) return one;
  }
  throw new RangeError(
    `${JSON.stringify(text)} is not a compaction interval: give entries (50000, 50k), bytes (64MiB, 512KiB), both (50k,64MiB) or off`,
  );
}

function parseOne(text: string): { unit: "entries" | "bytes"; n: number } | undefined {
  const t = text.trim();
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/.exec(t);
  if (m !== null) {
    const value = Number(m[1]);
    const suffix = m[2] ?? "";
    const bytesPerUnit = BYTE_UNITS[suffix];
    if (suffix === "" || suffix === "k" || suffix === "m") {
      const n = value * (suffix === "k" ? 1e3 : suffix === "m" ? 1e6 : 1);
      if (Number.isSafeInteger(n) && n >= 1) return { unit: "entries", n };
    } else if (bytesPerUnit !== undefined) {
      const n = Math.round(value * bytesPerUnit);
      if (Number.isSafeInteger(n) && n >= 1) return { unit: "bytes", n };
    }
  }
  return undefined;
}

export function formatCompactEvery(c: CompactEvery): string {
  if (c.unit === "off") return "off";
  if (c.unit === "either") return `${c.entries} entries or ${c.bytes} bytes`;
  return `${c.n} ${c.unit}`;
}

export interface CompactionStats {
  /** Compaction steps made (one WAL compact() call each). */
  steps: number;
  /** Index the log was last compacted to (0: never). */
  compactedTo: number;
}

export class Compactor {
  /** Bytes mode: cumulative entry data bytes at the end of appended batches. */
  private markIndex: number[] = [];
  private markBytes: number[] = [];
  private markHead = 0;
  private totalBytes = 0;
  /** Where the log may be compacted to, once the engine's applied state is durable. */
  private ready = 0;
  private flushing = false;
  /** The point the flush being waited for was asked for... */
  private flushTarget = 0;
  /** ...whether the engine was asked to start a write-back for it... */
  private flushStarted = false;
  /** ...and, once it answered, the engine's durable applied index (it may be past the target). */
  private durableSeen: number | undefined;
  /** Bumped on reset: a flush that finishes for an older log must not set `ready`. */
  private generation = 0;
  private steps = 0;
  private compactedTo = 0;
  /** The step in flight, if any. */
  private inFlight: Promise<void> | undefined;
  /** A step that failed: reported at the next turn, where the loop treats it as fatal. */
  private failure: unknown;

  /** The policy's bounds, each N of its unit; absent: that bound is not set (none: off). */
  private readonly bounds: { entries?: number; bytes?: number };

  constructor(
    private readonly storage: PeerStorage,
    private readonly every: CompactEvery,
  ) {
    this.bounds =
      every.unit === "entries"
        ? { entries: every.n }
        : every.unit === "bytes"
          ? { bytes: every.n }
          : every.unit === "either"
            ? { entries: every.entries, bytes: every.bytes }
            : {};
  }

  stats(): CompactionStats {
    return { steps: this.steps, compactedTo: this.compactedTo };
  }

  /** Resolves once no compaction step is in flight. */
  async idle(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
  }

  /** Forgets everything about the log (a new epoch, or the log replaced by a snapshot). */
  reset(): void {
    this.generation++;
    this.ready = 0;
    this.durableSeen = undefined;
    this.markIndex = [];
    this.markBytes = [];
    this.markHead = 0;
    this.totalBytes = 0;
  }

  /** Bytes mode: notes the entries one Ready appended (a replaced suffix included). */
  noteAppended(entries: readonly Entry[]): void {
    if (this.bounds.bytes === undefined || entries.length === 0) return;
    const first = entries[0]!.index;
    // A replaced suffix: forget the marks it overwrote (their bytes are counted anew).
    while (this.markIndex.length > this.markHead && this.markIndex.at(-1)! >= first) {
      this.markIndex.pop();
      this.markBytes.pop();
      this.totalBytes = this.markBytes.at(-1) ?? this.totalBytes;
    }
    for (let k = 0; k < entries.length; k++) this.totalBytes += entries[k]!.data.byteLength;
    this.markIndex.push(entries[entries.length - 1]!.index);
    this.markBytes.push(this.totalBytes);
  }

  /**
   * Called by the loop between turns. Compacts one step if a durable compaction point is
   * known, and looks for the next one. `status` is the core's, read only when needed.
   */
  async afterTurn(status: () => Status): Promise<void> {
    if (this.every.unit === "off") return;
    if (this.failure !== undefined) throw this.failure;
    if (this.inFlight !== undefined) return;
    const s = this.storage;
    const first = s.firstIndex();
    if (this.durableSeen !== undefined) {
      // The write-back that answered may have reached past the target it was asked for:
      // compact to as far as the policy allows within the durable point.
      this.ready = Math.max(
        this.ready,
        Math.min(this.durableSeen, this.policyPoint(s.appliedIndex(), status)),
      );
      this.durableSeen = undefined;
    }
    if (this.ready >= first) {
      const upTo = Math.min(this.ready, first - 1 + STEP_ENTRIES, s.appliedIndex(), s.lastIndex());
      if (upTo >= first) {
        this.steps++;
        this.compactedTo = upTo;
        this.dropMarksThrough(upTo);
        this.inFlight = s.compact(upTo).then(
          () => {
            this.inFlight = undefined;
          },
          (err: unknown) => {
            this.inFlight = undefined;
            this.failure = err;
          },
        );
        return;
      }
    }
    if (this.flushing) {
      this.startIfLong(first);
      return;
    }
    if (this.ready >= first) return;
    const target = this.target(first, s.appliedIndex(), status);
    if (target < first) return;
    this.flushing = true;
    this.flushTarget = target;
    this.flushStarted = false;
    const gen = this.generation;
    s.flushApplied(target).then(
      () => {
        this.flushing = false;
        if (gen !== this.generation) return;
        this.ready = Math.max(this.ready, target);
        this.durableSeen = s.durableAppliedIndex?.();
      },
      () => {
        // The engine's write failed: the pipeline reports that failure itself.
        this.flushing = false;
      },
    );
    this.startIfLong(first);
  }

  /**
   * While compaction waits for the engine's own schedule, the log grows; once its applied
   * part is DURABLE_LAG_INTERVALS intervals long (by either bound), the engine is asked to
   * write back now.
   */
  private startIfLong(first: number): void {
    if (this.flushStarted) return;
    const applied = this.storage.appliedIndex();
    const { entries, bytes } = this.bounds;
    const k = DURABLE_LAG_INTERVALS;
    const long =
      (entries !== undefined && applied - (first - 1) >= k * entries) ||
      (bytes !== undefined && this.bytesAt(applied) - this.bytesAt(first - 1) >= k * bytes);
    if (!long) return;
    this.flushStarted = true;
    // The waiting call above hears the answer; a failure is the pipeline's to report.
    this.storage.flushApplied(this.flushTarget, { start: true }).catch(() => {});
  }

  /** The index to compact to now, or below `first` when nothing is due. */
  private target(first: number, applied: number, status: () => Status): number {
    // N behind applied by a bound once its applied part is 2N long.
    const target = this.behindApplied(first, applied, 2);
    if (target < first) return 0;
    return this.heldForSnapshots(target, status);
  }

  /**
   * The furthest the policy lets the log be compacted to now, whatever its length: N behind
   * the applied index (by the bound that allows more), held for snapshots as above.
   */
  private policyPoint(applied: number, status: () => Status): number {
    // times 0: every bound qualifies, whatever the log's length (so `first` does not matter).
    return this.heldForSnapshots(this.behindApplied(1, applied, 0), status);
  }

  /**
   * N behind `applied` by each bound whose part of the log from `first` through `applied` is
   * at least `times` N long (entries: N entries; bytes: the last mark N bytes back), the
   * furthest of them: the bound reached first asks for more. 0 when no bound qualifies.
   */
  private behindApplied(first: number, applied: number, times: number): number {
    const { entries, bytes } = this.bounds;
    let point = 0;
    if (entries !== undefined && applied - (first - 1) >= times * entries) {
      point = Math.max(point, applied - entries);
    }
    if (bytes !== undefined) {
      const appliedBytes = this.bytesAt(applied);
      if (appliedBytes - this.bytesAt(first - 1) >= times * bytes) {
        point = Math.max(point, this.lastMarkAtOrBelow(appliedBytes - bytes));
      }
    }
    return point;
  }

  /** `target`, but never past a snapshot an active follower is being sent (on a leader). */
  private heldForSnapshots(target: number, status: () => Status): number {
    const st = status();
    if (st.role === "leader") {
      for (const [id, pr] of st.progress) {
        if (id !== st.id && pr.state === "snapshot" && pr.recentActive) {
          target = Math.min(target, pr.pendingSnapshot);
        }
      }
    }
    return target;
  }

  /** Cumulative bytes at the last mark at or below index `i` (0 before the first). */
  private bytesAt(i: number): number {
    let lo = this.markHead;
    let hi = this.markIndex.length - 1;
    if (hi < lo || this.markIndex[lo]! > i) return 0;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.markIndex[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.markBytes[lo]!;
  }

  /** The index of the last mark whose cumulative bytes are at most `bytes` (0 if none). */
  private lastMarkAtOrBelow(bytes: number): number {
    let found = 0;
    for (let k = this.markHead; k < this.markIndex.length && this.markBytes[k]! <= bytes; k++) {
      found = this.markIndex[k]!;
    }
    return found;
  }

  private dropMarksThrough(upTo: number): void {
    // Keep the mark at upTo itself: bytesAt(first - 1) reads it.
    while (
      this.markHead + 1 < this.markIndex.length &&
      this.markIndex[this.markHead + 1]! <= upTo
    ) {
      this.markHead++;
    }
    if (this.markHead > 1024 && this.markHead * 2 > this.markIndex.length) {
      this.markIndex = this.markIndex.slice(this.markHead);
      this.markBytes = this.markBytes.slice(this.markHead);
      this.markHead = 0;
    }
  }
}
