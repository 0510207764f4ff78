// The state-machine contract: hard state plus the applied key-value map.
import type { ConfState, Entry, HardState, Snapshot } from "../../raft/types.js";

export interface Engine {
  /** Registry name: "mem", "lmdb". */
  readonly kind: string;
  hardState(): HardState;
  setHardState(hs: HardState, opts: { sync: boolean }): Promise<void>;
  /** The membership as of appliedIndex(). */
  confState(): ConfState;
  setConfState(cs: ConfState): Promise<void>;
  /** Applies one batch of committed entries in order (normal entries carry proposals). */
  applyEntries(entries: readonly Entry[]): Promise<void>;
  appliedIndex(): number;
  /**
   * Resolves once everything applied so far is on stable storage; absent when the engine
   * keeps nothing (or applies durably). Log compaction waits for it.
   */
  flushed?(): Promise<void>;
  /** A snapshot of the applied state, for a lagging follower. */
  snapshot(): Promise<Snapshot>;
  restore(snapshot: Snapshot): Promise<void>;
  /** Wipes everything (a new test epoch). */
  clear(): Promise<void>;
  close(): Promise<void>;
}
