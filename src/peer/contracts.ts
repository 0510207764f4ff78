// What the Peer needs from the Raft core and from storage, as narrow interfaces: the Peer is
// written against these, and the composition root (src/node/) wires in the real RawNode
// and a Storage from src/storage, which has this shape itself (no adapter between).

import type { PersistRequest, PipelineNode } from "../pipeline/pipeline.js";
import type { Config, LogStorage, Ready, Status } from "../raft/api.js";
import type { ConfChange, ConfState, Entry, Message } from "../raft/types.js";

export interface PeerNode extends PipelineNode {
  bootstrap(peers: number[]): void;
  tick(): void;
  campaign(): void;
  proposeBatch(datas: readonly Uint8Array[]): void;
  step(m: Message): void;
  hasReady(): boolean;
  ready(): Ready;
  reportUnreachable(id: number): void;
  /** Whether a snapshot sent to `id` got through; the leader waits for this after sending one. */
  reportSnapshot(id: number, ok: boolean): void;
  /** The transport lost its connection to `id` (a follower of `id` campaigns early). */
  reportDisconnected(id: number): void;
  status(): Status;
  /** Service mode: membership changes, ReadIndex, the configuration in force. */
  proposeConfChange(cc: ConfChange): void;
  readIndex(ctx: Uint8Array): void;
  confState(): ConfState;
}

export interface RaftBinding {
  createNode(config: Config): PeerNode;
  decodeConfChange(data: Uint8Array): ConfChange;
}

/** A node's durable state: its log, hard state and applied state machine. */
export interface PeerStorage {
  /** Recorded with every benchmark result. */
  readonly description: string;
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
  persist(req: PersistRequest, sync: boolean): Promise<void>;
  applyEntries(entries: readonly Entry[]): Promise<void>;
  setConfState(cs: ConfState): Promise<void>;
  /** The read-only view the core reads, over the current contents. */
  logView(): LogStorage;
  /** Wipes log, hard state and engine (a new test epoch), durably. */
  reset(): Promise<void>;
  close(): Promise<void>;
}
