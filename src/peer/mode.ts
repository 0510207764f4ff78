// What a Peer does differently as a benchmark node (test epochs, test-epoch-mode.ts) and as a
// key-value service node (ordinary Raft, service-mode.ts). The Peer schedules; everything that
// depends on which of the two it is goes through this interface, so peer.ts has no branch on it.
import type { ReadState } from "../raft/api.js";
import type { ConfChange } from "../raft/types.js";
import type { Epoch, InboundBatch } from "../transport/transport.js";
import type { PeerStorage } from "./contracts.js";
import type { OpenedEpoch } from "./epoch.js";
import type { Incarnation } from "./incarnation.js";
import type { ProposalBuffer, TakenProposals } from "./proposal-buffer.js";

export interface PeerMode {
  /** The epoch the node is in (NO_EPOCH for a service node). */
  readonly epoch: Epoch;
  /** Batches dropped because they belonged to an older epoch (or one sat out). */
  readonly droppedOldEpochBatches: number;
  /** Opens the stored Raft state: fresh or restarted, and in which epoch. */
  open(storage: PeerStorage): Promise<OpenedEpoch>;
  /** The line logged once the node serves. */
  startedLine(opened: OpenedEpoch, storage: PeerStorage, pipeline: string): string;
  /** True if the batch's messages go to the node; the mode may first adopt a newer epoch. */
  admit(b: InboundBatch): boolean;
  /** Work asked for between turns that the loop must take up. */
  readonly hasWork: boolean;
  /** The epoch to reset to before this turn, if one is pending. */
  takeReset(): Epoch | undefined;
  /** The reset to `target` is done and its wiped state durable. */
  resetDone(target: Epoch): Promise<void>;
  /** Starts the next epoch; resolves once this node has reset to it. */
  next(): Promise<Epoch>;
  /** Lets every caller of next() go (the node stops or failed). */
  releaseWaiters(): void;
  /**
   * Steps what was asked for since the last turn into the core and hands it up to `max`
   * buffered proposals; returns those the tracker must match by log index once the Ready is
   * out (undefined: none, or they are matched otherwise). `room`: how many more may be in flight.
   */
  propose(
    inc: Incarnation,
    buffer: ProposalBuffer,
    max: number,
    room: number,
  ): TakenProposals | undefined;
  /** Buffered proposals are kept when leadership is lost (forwarded to the next leader). */
  readonly keepsBufferOnLostLeadership: boolean;
  /**
   * An idle loop woken by new work lets the rest of the event loop's I/O phase run first,
   * so that everything that arrived in it (each client's request comes in its own socket
   * event) goes into the same turn and the same proposal batch.
   */
  readonly gathersBeforeTurn: boolean;
  onReadStates(states: readonly ReadState[]): void;
  /** After every loop turn and every acknowledgement. */
  onProgress(): void;
  /** A membership change was applied on this node. */
  confChangeApplied(cc: ConfChange): void;
  /** Asks for one ReadIndex round at the next turn (service mode only). */
  requestReadRound(): void;
  /** Proposes a membership change at the next turn (service mode only). */
  proposeConfChange(cc: ConfChange): void;
}
