// The state-machine contract: hard state plus the applied key-value map.
import type { KvReadView, KvResult, MemberAddresses } from "../../proposal/kv.js";
import type { ConfState, Entry, HardState, Snapshot } from "../../raft/types.js";

export interface Engine extends KvStateMachine {
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
   * keeps nothing (or applies durably).
   */
  flushed?(): Promise<void>;
  /**
   * Resolves once the applied state through log index `index` is on stable storage. Without
   * `start` it does not hasten a write-back (an engine that writes back on its own schedule
   * answers when its schedule gets there); with `start` the engine begins one now (the log
   * since its durable point has grown as long as the caller lets it). Log compaction waits
   * for it before dropping entries through `index`, so a restart never finds the log
   * starting after the engine's durable applied point. Absent: as flushed().
   */
  flushedThrough?(index: number, opts?: { start?: boolean }): Promise<void>;
  /** The applied index a restart would start from (absent: the engine keeps nothing). */
  durableAppliedIndex?(): number;
  /** A snapshot of the applied state, for a lagging follower. */
  snapshot(): Promise<Snapshot>;
  restore(snapshot: Snapshot): Promise<void>;
  /** Wipes everything (a new test epoch). */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Told of every command's result (kind 2 and 3 entries, src/proposal/command.ts) in apply
 * order, on every node: `id` is the proposer's id from the entry, `index` the entry's log
 * index. Plain puts (the benchmark's kind 1) report nothing, so a node nobody listens to pays
 * nothing for results. Called once the batch holding the entry is applied (a read view then
 * already shows it); a listener must not throw and must not call back into the engine's writes.
 */
export interface ApplyListener {
  onApplied(id: number, index: number, result: KvResult): void;
  /**
   * The member metadata changed: after a batch with member commands is applied (after its
   * onApplied calls), and after a restore or clear replaced it. Read memberAddresses().
   */
  onMembersChanged?(): void;
}

/**
 * The key-value side of an engine, used by the service: who hears results, what reads see,
 * and the member metadata (client addresses) kept under a reserved namespace.
 */
export interface KvStateMachine {
  /** Sets the one listener (undefined: none, the default). */
  setApplyListener(listener: ApplyListener | undefined): void;
  /** A live view of the applied keys (see KvReadView). */
  readView(): KvReadView;
  /** Every member's client addresses as applied (member-addresses commands, snapshots). */
  memberAddresses(): ReadonlyMap<number, MemberAddresses>;
  /**
   * The longest key this engine stores: a longer one fails the whole apply, so the service
   * must refuse it before proposing (Infinity for mem).
   */
  readonly maxKeyBytes: number;
}
