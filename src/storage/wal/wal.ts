// The write-ahead log contract. Every implementation (mem, file, lmdb) passes the same
// conformance suite (src/testing/wal-conformance.ts). Reads below firstIndex() throw RaftError("compacted"),
// above lastIndex() RaftError("unavailable"), as in the core's LogStorage.
import type { Entry } from "../../raft/types.js";

export interface AppendOptions {
  /** Resolve only once the entries are on stable storage. */
  sync: boolean;
}

export interface Wal {
  /** Registry name: "mem", "file", "lmdb". */
  readonly kind: string;
  /** How a synced append reaches stable storage, in words (recorded with every result). */
  readonly syncMode: string;
  /**
   * Appends entries with consecutive indexes. If the first index is at or below
   * lastIndex(), the log's suffix from that index is replaced (a follower's repair).
   * A failed write rejects; the log is then unusable and the node must stop.
   * The log may keep the entry objects it is given: callers must not modify them afterwards.
   */
  append(entries: readonly Entry[], opts: AppendOptions): Promise<void>;
  /**
   * Entries in [lo, hi): at least one if any is in range, then as many more as keep the
   * sum of their data lengths within maxBytes.
   */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** Term of entry i, for i in [firstIndex() - 1, lastIndex()]. */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /**
   * Drops entries up to and including `upTo`; term(upTo) stays answerable. `upTo` below
   * firstIndex() is a no-op; above lastIndex() rejects with RaftError("unavailable").
   */
  compact(upTo: number): Promise<void>;
  /**
   * Wipes the log (a new test epoch, or a snapshot received). With `after`, the log
   * restarts just past that point: firstIndex() = after.index + 1, term(after.index) known.
   */
  reset(after?: { index: number; term: number }): Promise<void>;
  close(): Promise<void>;
}
