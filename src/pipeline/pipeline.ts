// The Pipeline contract: how one Ready is handled (persist, send, apply, acknowledge,
// advance, in an order each variant chooses). A pipeline sees the node, the storage and the
// network only through the narrow host below, so it never imports a concrete WAL, engine or
// transport.
import type { Ready } from "../raft/api.js";
import type { ConfChange, ConfState, Entry, Message } from "../raft/types.js";
import type { PersistRequest } from "../storage/storage.js";
import type { Clock } from "../units/clock.js";

/** The part of the RawNode a pipeline drives. */
export interface PipelineNode {
  advance(rd: Ready): void;
  /** `index` lets the core ignore a change its configuration already covers (a snapshot). */
  applyConfChange(cc: ConfChange, index?: number): ConfState;
}

/** What one write to stable storage carries (defined once, by the storage that takes it). */
export type { PersistRequest };

/** The storage operations a pipeline needs (a `Storage` from src/storage satisfies it). */
export interface PipelineStorage {
  persist(req: PersistRequest, sync: boolean): Promise<void>;
  applyEntries(entries: readonly Entry[]): Promise<void>;
}

/** One histogram's write side; a no-op when metrics are off. */
export interface Recorder {
  record(value: number): void;
}

export interface PipelineMetrics {
  appendBatchSize: Recorder;
  appendLatencyNs: Recorder;
  applyBatchSize: Recorder;
  applyLatencyNs: Recorder;
}

/**
 * Bugs planted on purpose, for the whole-node simulator's self-test (src/peer-sim/): each
 * breaks one ordering rule a pipeline must keep. Never set outside that test.
 */
export interface PipelineTestingBugs {
  /** Acknowledge the proposals a Ready appends before they are persisted anywhere. */
  ackBeforePersist?: boolean;
  /** Early-ack pipelines acknowledge what this node appended, durable here but not on a quorum. */
  earlyAckUncommitted?: boolean;
  /** A lazy follower that comes to lead applies on without the entries it skipped. */
  lazySkipsCatchUp?: boolean;
}

export interface PipelineHost {
  readonly id: number;
  readonly node: PipelineNode;
  readonly storage: PipelineStorage;
  readonly metrics: PipelineMetrics;
  /** The Peer's clock (virtual in the whole-node simulator): latencies are read from it. */
  readonly clock: Clock;
  readonly testingBugs?: PipelineTestingBugs;
  /** Sends messages to peers (grouped by destination, tagged with the current epoch). */
  send(messages: readonly Message[]): void;
  /** Steps messages into the local node at the peer loop's next turn, in order. */
  stepLocal(messages: readonly Message[]): void;
  /** The index up to which the engine has applied. */
  appliedIndex(): number;
  /** Entries [lo, hi) of the local log (entries a lazy follower skipped, read back). */
  readLog(lo: number, hi: number): readonly Entry[];
  /** Whether this node leads right now. */
  isLeader(): boolean;
  /** Resolves the tracked proposals among these committed entries. */
  ack(committed: readonly Entry[]): void;
  /**
   * Applies one committed conf-change entry: the node's membership and the engine's conf
   * state. Always awaited in log order, never in the background.
   */
  applyConfChange(entry: Entry): Promise<void>;
  /** A background write or apply failed: the node cannot go on. */
  fail(err: unknown): void;
}

export interface Pipeline {
  readonly name: string;
  /** Handles one Ready; the peer loop asks for the next Ready only once this resolves. */
  handleReady(rd: Ready): Promise<void>;
  /** Resolves once every background write and apply started so far is done. */
  drain(): Promise<void>;
}

export interface PipelineSpec {
  readonly name: string;
  readonly description: string;
  /** The node must be built with Config.asyncStorageWrites. */
  readonly asyncStorageWrites: boolean;
  /** Followers leave committed entries unapplied until they lead (no follower reads). */
  readonly lazyFollowers?: boolean;
  create(host: PipelineHost): Pipeline;
}
