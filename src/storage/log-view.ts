// The Raft core's read-only view (LogStorage) served from a Storage: hard state and
// membership from the engine, the log from the Wal, snapshots from the engine.
import type { Logger, LogStorage } from "../raft/api.js";
import { silentLogger } from "../raft/api.js";
import { RaftError } from "../raft/errors.js";
import type { ConfState, Entry, HardState, Snapshot } from "../raft/types.js";
import type { Engine } from "./engine/engine.js";
import type { Wal } from "./wal/wal.js";

/** What the view reads: a Storage's log and engine. */
export interface LoggedState {
  readonly wal: Wal;
  readonly engine: Engine;
}

export class StorageLogView implements LogStorage {
  /** The last snapshot made: a lagging follower is usually sent the same one again. */
  private cached: Snapshot | undefined;
  private making: Promise<void> | undefined;

  constructor(
    private readonly storage: LoggedState,
    private readonly logger: Logger = silentLogger,
  ) {}

  /**
   * The stored hard state, with commit lowered to the last index the log holds: an engine
   * that outlives its log (a durable engine beside an in-memory log) may remember a commit
   * index past the log's end, which the core would reject. Lowering commit is safe: it only
   * delays applying what the leader will tell the node again.
   */
  initialState(): { hardState: HardState; confState: ConfState } {
    const hs = this.storage.engine.hardState();
    const last = this.storage.wal.lastIndex();
    return {
      hardState: { term: hs.term, vote: hs.vote, commit: Math.min(hs.commit, last) },
      confState: this.storage.engine.confState(),
    };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    return this.storage.wal.entries(lo, hi, maxBytes);
  }

  term(i: number): number {
    return this.storage.wal.term(i);
  }

  firstIndex(): number {
    return this.storage.wal.firstIndex();
  }

  lastIndex(): number {
    return this.storage.wal.lastIndex();
  }

  /**
   * A snapshot that lets a follower continue from the log (its index is at least
   * firstIndex() - 1). Making one is asynchronous: when none is ready yet, this starts one
   * and throws RaftError("snapshot-temporarily-unavailable"), and the leader retries.
   * A cached snapshot that predates a member added since is not reused: that member would
   * refuse a snapshot whose configuration lacks it, and wait for the next compaction.
   */
  snapshot(): Snapshot {
    const need = this.storage.wal.firstIndex() - 1;
    const c = this.cached;
    if (
      c !== undefined &&
      c.metadata.index >= need &&
      coversMembers(c.metadata.confState, this.storage.engine.confState())
    ) {
      return c;
    }
    void this.prepareSnapshot();
    throw new RaftError(
      "snapshot-temporarily-unavailable",
      `snapshot at or after index ${need} is being made`,
    );
  }

  /** Makes a fresh snapshot of the engine's applied state (at most one at a time). */
  prepareSnapshot(): Promise<void> {
    if (this.making === undefined) {
      this.making = this.storage.engine
        .snapshot()
        .then(
          (snap) => {
            this.cached = snap;
          },
          (err: unknown) => {
            this.logger.warn(`snapshot failed: ${err instanceof Error ? err.message : err}`);
          },
        )
        .finally(() => {
          this.making = undefined;
        });
    }
    return this.making;
  }
}

/** Whether every voter and learner of `current` is a member in `snap`. */
function coversMembers(snap: ConfState, current: ConfState): boolean {
  const known = new Set([...snap.voters, ...snap.learners]);
  return (
    current.voters.every((id) => known.has(id)) && current.learners.every((id) => known.has(id))
  );
}
