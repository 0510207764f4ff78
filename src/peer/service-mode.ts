// The Peer's service mode (the key-value service, src/service/): ordinary Raft instead of
// the benchmark's test epochs. A node keeps its identity and durable state across restarts,
// every voter campaigns on an election timeout, proposals are taken on any node (the core
// forwards them to the leader) and handed over without being tracked by log index: the
// state machine matches them by proposal id when it applies them. ReadIndex rounds and
// membership changes are queued here for the loop's next turn.
import type { PipelineSpec } from "../pipeline/pipeline.js";
import type { ReadState } from "../raft/api.js";
import { isRaftError } from "../raft/errors.js";
import type { ConfChange } from "../raft/types.js";
import type { Epoch, InboundBatch } from "../transport/transport.js";
import type { PeerNode, PeerStorage } from "./contracts.js";
import { NO_EPOCH, type OpenedEpoch } from "./epoch.js";
import { PeerError } from "./errors.js";
import type { Incarnation } from "./incarnation.js";
import type { PeerMode } from "./mode.js";
import { type ProposalBuffer, rejectTaken, type TakenProposals } from "./proposal-buffer.js";
import { ProposalError } from "./proposal-tracker.js";

export interface ServiceMode {
  /**
   * Bootstrap the configuration `peerIds` when the storage is empty. False for a node joining
   * a running cluster: it starts empty and waits for the leader to add it and send it the log.
   */
  bootstrap: boolean;
  /** The context of a ReadIndex round for every read waiting now; undefined: none waits. */
  takeReadRound(): Uint8Array | undefined;
  /** The answers to those rounds, as the core hands them out. */
  onReadStates(states: readonly ReadState[]): void;
  /** After every loop turn and every acknowledgement: applied or leader may have moved. */
  onProgress(): void;
  /** A membership change was applied on this node (its context may name an address). */
  onConfChange(cc: ConfChange): void;
}

/**
 * Throws unless every node applies what commits with pipeline `spec`: a service node matches
 * its writes and serves its reads from its own applied state.
 */
function checkServicePipeline(spec: PipelineSpec): void {
  if (spec.lazyFollowers === true) {
    throw new Error(
      `pipeline ${spec.name} leaves followers' state unapplied, and a key-value node serves from its own state: choose another --pipeline`,
    );
  }
}

/** Opens a service node's state: whatever is stored is this node's own; no epoch applies. */
async function openService(storage: PeerStorage): Promise<OpenedEpoch> {
  const fresh = storage.lastIndex() === 0;
  // A durable engine beside a log that was not durable: start both over.
  if (fresh && storage.appliedIndex() > 0) await storage.reset();
  return { epoch: NO_EPOCH, fresh, sittingOut: false };
}

/**
 * Hands up to `max` buffered proposals to the core as one batch, on any node. They resolve
 * once handed over (a follower's core forwards them); a refusal (no leader known) rejects
 * them all, so the caller may hand them over again: none of them was proposed.
 */
function submitFromBuffer(buffer: ProposalBuffer, node: PeerNode, max: number): void {
  if (buffer.length === 0) return;
  const taken = buffer.take(max);
  try {
    node.proposeBatch(taken.datas);
  } catch (err) {
    if (!isRaftError(err)) throw err;
    rejectTaken(taken, new ProposalError(err.reason || err.code));
    return;
  }
  for (const r of taken.resolves) r();
}

/**
 * The Peer in service mode: no epochs (the group is the same group for good), proposals
 * handed over on any node, ReadIndex rounds and membership changes asked for between two
 * loop turns and stepped into the core at the next.
 */
export class ServicePeerMode implements PeerMode {
  readonly epoch = NO_EPOCH;
  readonly droppedOldEpochBatches = 0;
  readonly keepsBufferOnLostLeadership = true;
  readonly gathersBeforeTurn = true;
  private readRoundRequested = false;
  private confChanges: ConfChange[] = [];

  constructor(
    private readonly id: number,
    private readonly mode: ServiceMode,
    spec: PipelineSpec,
    private readonly wake: () => void,
  ) {
    checkServicePipeline(spec);
  }

  open(storage: PeerStorage): Promise<OpenedEpoch> {
    return openService(storage);
  }

  startedLine(opened: OpenedEpoch, storage: PeerStorage, pipeline: string): string {
    const how = !opened.fresh
      ? `restarted at index ${storage.lastIndex()}`
      : this.mode.bootstrap
        ? "bootstrapped"
        : "empty, waiting to be added";
    return `peer ${this.id}: ${how} in service mode, pipeline ${pipeline}`;
  }

  admit(_b: InboundBatch): boolean {
    return true;
  }

  get hasWork(): boolean {
    return this.readRoundRequested || this.confChanges.length > 0;
  }

  takeReset(): Epoch | undefined {
    return undefined;
  }

  async resetDone(_target: Epoch): Promise<void> {}

  next(): Promise<Epoch> {
    return Promise.reject(new PeerError("not-epoch-owner", "only the epoch owner starts epochs"));
  }

  releaseWaiters(): void {}

  requestReadRound(): void {
    this.readRoundRequested = true;
    this.wake();
  }

  proposeConfChange(cc: ConfChange): void {
    this.confChanges.push(cc);
    this.wake();
  }

  /** Steps the queued requests into the core, then hands it the buffered proposals. */
  propose(
    inc: Incarnation,
    buffer: ProposalBuffer,
    max: number,
    _room: number,
  ): TakenProposals | undefined {
    const node = inc.node;
    if (this.readRoundRequested) {
      this.readRoundRequested = false;
      const ctx = this.mode.takeReadRound();
      if (ctx !== undefined) node.readIndex(ctx);
    }
    for (const cc of this.confChanges.splice(0)) {
      try {
        node.proposeConfChange(cc);
      } catch (err) {
        // Refused (no leader, a change pending): the caller sees it never apply, and retries.
        if (!isRaftError(err)) throw err;
      }
    }
    submitFromBuffer(buffer, node, max);
    // Not matched by index: the state machine matches them by proposal id as it applies them.
    return undefined;
  }

  onReadStates(states: readonly ReadState[]): void {
    if (states.length > 0) this.mode.onReadStates(states);
  }

  onProgress(): void {
    this.mode.onProgress();
  }

  confChangeApplied(cc: ConfChange): void {
    this.mode.onConfChange(cc);
  }
}
