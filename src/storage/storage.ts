// A node's durable state: its log (a Wal) and its state machine plus hard state (an Engine),
// with the one write a pipeline makes per Ready: `persist`.
//
// Which combinations survive a restart:
//   wal file|lmdb + engine lmdb, and the combined lmdb storage: log, term, vote, commit,
//     applied state; everything.
//   wal file|lmdb + engine mem: the log only. Term, vote and commit restart at zero (a node
//     may vote twice in one term after a crash): fine for measuring, not for safety.
//   wal mem + engine lmdb: hard state and applied state; the log restarts just after the
//     applied index (see reconcile()).
//   wal mem + engine mem: nothing.
import type { LogStorage } from "../raft/api.js";
import type { ConfState, Entry, HardState, Snapshot } from "../raft/types.js";
import { isEmptySnapshot } from "../raft/types.js";
import type { Engine } from "./engine/engine.js";
import { DataDirError } from "./errors.js";
import { StorageLogView } from "./log-view.js";
import type { Wal } from "./wal/wal.js";

export interface PersistRequest {
  hardState?: HardState;
  entries: readonly Entry[];
  snapshot?: Snapshot;
}

/**
 * Everything a Peer asks of its durable state; the Peer's PeerStorage (src/peer/contracts.ts)
 * is this shape, so a persist goes pipeline -> Storage -> Wal/Engine with nothing between.
 */
export interface Storage {
  readonly wal: Wal;
  readonly engine: Engine;
  /** Recorded with every benchmark result. */
  readonly description: string;
  /** Whether term, vote and commit survive a restart. */
  readonly durableHardState: boolean;
  /** Whether the log survives a restart. */
  readonly durableLog: boolean;
  /**
   * Makes one Ready's state durable (with `sync`) in an order that a crash cannot break:
   * snapshot, then entries, then hard state (whose commit may point at those entries).
   */
  persist(rd: PersistRequest, sync: boolean): Promise<void>;
  /** Applies committed entries to the engine. */
  applyEntries(entries: readonly Entry[]): Promise<void>;
  /** Wipes log and engine (a new test epoch). */
  reset(): Promise<void>;
  close(): Promise<void>;
  /** Last index in the log; 0 for a node that has never written anything. */
  lastIndex(): number;
  /** First index the log still holds (entries before it were compacted). */
  firstIndex(): number;
  /** Drops the log up to and including `upTo` (at most the applied index). */
  compact(upTo: number): Promise<void>;
  /**
   * Resolves once the applied state through `upTo` (default: all applied so far) is on
   * stable storage (at once for memory); with `upTo`, without hastening the engine's writes
   * unless `start` asks the engine to begin a write-back now.
   */
  flushApplied(upTo?: number, opts?: { start?: boolean }): Promise<void>;
  /**
   * The applied index the engine holds on stable storage (a restart starts from it), when
   * the engine tracks one (the lmdb engine); undefined otherwise.
   */
  durableAppliedIndex?(): number | undefined;
  appliedIndex(): number;
  setConfState(cs: ConfState): Promise<void>;
  /** A fresh read-only view for the core, over the current contents. */
  logView(): LogStorage;
}

/** The Storage calls that only read or forward to the Wal or the Engine, shared by both kinds. */
export abstract class WalEngineStorage
  implements Omit<Storage, "description" | "durableHardState" | "durableLog" | "persist">
{
  abstract readonly wal: Wal;
  abstract readonly engine: Engine;

  lastIndex(): number {
    return this.wal.lastIndex();
  }

  firstIndex(): number {
    return this.wal.firstIndex();
  }

  compact(upTo: number): Promise<void> {
    return this.wal.compact(upTo);
  }

  flushApplied(upTo?: number, opts?: { start?: boolean }): Promise<void> {
    const e = this.engine;
    if (upTo !== undefined && e.flushedThrough !== undefined) return e.flushedThrough(upTo, opts);
    return e.flushed?.() ?? Promise.resolve();
  }

  durableAppliedIndex(): number | undefined {
    return this.engine.durableAppliedIndex?.();
  }

  appliedIndex(): number {
    return this.engine.appliedIndex();
  }

  setConfState(cs: ConfState): Promise<void> {
    return this.engine.setConfState(cs);
  }

  applyEntries(entries: readonly Entry[]): Promise<void> {
    return this.engine.applyEntries(entries);
  }

  logView(): LogStorage {
    return new StorageLogView(this);
  }

  async reset(): Promise<void> {
    await this.wal.reset();
    await this.engine.clear();
  }

  abstract close(): Promise<void>;
}

/** Installs a received snapshot: the engine takes its state, the log restarts after it. */
export async function installSnapshot(wal: Wal, engine: Engine, snap: Snapshot): Promise<void> {
  await engine.restore(snap);
  await wal.reset({ index: snap.metadata.index, term: snap.metadata.term });
}

class SplitStorage extends WalEngineStorage implements Storage {
  readonly durableHardState: boolean;
  readonly durableLog: boolean;
  readonly description: string;

  constructor(
    readonly wal: Wal,
    readonly engine: Engine,
  ) {
    super();
    this.durableLog = wal.kind !== "mem";
    this.durableHardState = engine.kind !== "mem";
    this.description = `wal=${wal.kind} (${wal.syncMode}), engine=${engine.kind}`;
  }

  async persist(rd: PersistRequest, sync: boolean): Promise<void> {
    if (!isEmptySnapshot(rd.snapshot)) await installSnapshot(this.wal, this.engine, rd.snapshot!);
    if (rd.entries.length > 0) await this.wal.append(rd.entries, { sync });
    if (rd.hardState !== undefined) {
      // Only term and vote must be durable before messages leave (a vote must never be
      // forgotten). A commit index lost in a crash is learned again from the leader, so a
      // commit-only change skips the engine's second sync per Ready.
      const stored = this.engine.hardState();
      const votingChanged = rd.hardState.term !== stored.term || rd.hardState.vote !== stored.vote;
      await this.engine.setHardState(rd.hardState, { sync: sync && votingChanged });
    }
  }

  async close(): Promise<void> {
    const results = await Promise.allSettled([this.wal.close(), this.engine.close()]);
    for (const r of results) if (r.status === "rejected") throw r.reason;
  }
}

/** A Storage over a separate Wal and Engine: two durable writes per Ready. */
export function split(wal: Wal, engine: Engine): Storage {
  return new SplitStorage(wal, engine);
}

/**
 * Brings log and engine into agreement after a restart: when the log ends before what the
 * engine applied (an in-memory log beside a durable engine), the log restarts just after the
 * applied point; when the log starts after it, entries the engine never applied are gone and
 * the node cannot continue.
 */
export async function reconcile(s: Storage, where: string): Promise<void> {
  const applied = s.engine.appliedIndex();
  if (s.wal.firstIndex() - 1 > applied && !s.durableHardState) {
    // A compacted durable log beside an engine that kept nothing (mem): the state before
    // the log's start is gone with the engine, so the node starts over as an empty one.
    await s.wal.reset();
    return;
  }
  if (s.wal.firstIndex() - 1 > applied) {
    throw new DataDirError(
      "log-gap",
      `${where}: the log starts at ${s.wal.firstIndex()} but the state machine was applied ` +
        `only up to ${applied}; entries in between are lost: remove the data dir to start over`,
    );
  }
  if (s.wal.lastIndex() < applied) {
    const snap = await s.engine.snapshot();
    await s.wal.reset({ index: applied, term: snap.metadata.term });
  }
}
