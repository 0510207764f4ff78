// The transport contract: messages leave grouped by destination, each batch tagged with
// the sender's test epoch; incoming batches are handed to one handler.
import type { Message } from "../raft/types.js";

/** Where a transport says that a link went down or came back. */
export interface TransportLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** A test epoch: the leader process's start time and benchmark iteration. */
export interface Epoch {
  /** Milliseconds since the Unix epoch when the leader process started. */
  start: number;
  /** Benchmark iteration within that process. */
  iteration: number;
}

export interface InboundBatch {
  epoch: Epoch;
  from: number;
  messages: Message[];
}

export interface TransportStats {
  /** Messages dropped because a peer's outbound queue was full or the peer was down. */
  dropped: number;
  sentBatches: number;
  sentMessages: number;
  /**
   * One-way link latency in ns (half the round trip of transport-level pings, answered by
   * the transport itself, not by Raft), median over recent samples of every link;
   * undefined until a transport measures it. The benchmark's speed-of-light floor uses it.
   */
  oneWayP50Ns?: number;
}

export interface Transport {
  /** Starts listening; `onBatch` is called for every batch received, in arrival order. */
  start(onBatch: (batch: InboundBatch) => void): Promise<void>;
  /**
   * Sends messages, grouped by `to` into one batch per destination, tagged with `epoch`.
   * Never blocks and never throws for an unreachable peer: Raft retransmits, so a full
   * queue drops (and counts) instead of growing without bound.
   */
  send(epoch: Epoch, messages: readonly Message[]): void;
  /** Called with a peer's id when messages to it could not be delivered. */
  onUnreachable(handler: (peerId: number) => void): void;
  /**
   * Called with a peer's id when the connection to it broke or could not be made (its
   * process is gone, or the network reset the connection): stronger news than a message
   * dropped on a full queue. Transports without connections (in-process) never call it.
   */
  onDisconnected?(handler: (peerId: number) => void): void;
  stats(): TransportStats;
  stop(): Promise<void>;
}
