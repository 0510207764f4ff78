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
import type { PeerNode, PeerStorage } from "./contracts.js";
import { NO_EPOCH, type OpenedEpoch } from "./epoch.js";
import { type ProposalBuffer, rejectTaken } from "./proposal-buffer.js";
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
export function checkServicePipeline(spec: PipelineSpec): void {
  if (spec.lazyFollowers === true) {
    throw new Error(
      `pipeline ${spec.name} leaves followers' state unapplied, and a key-value node serves from its own state: choose another --pipeline`,
    );
  }
}

/** Opens a service node's state: whatever is stored is this node's own; no epoch applies. */
export async function openService(storage: PeerStorage): Promise<OpenedEpoch> {
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
export function submitFromBuffer(buffer: ProposalBuffer, node: PeerNode, max: number): void {
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

/** ReadIndex rounds and membership changes asked for between two loop turns. */
export class ServiceRequests {
  private readRoundRequested = false;
  private confChanges: ConfChange[] = [];

  constructor(private readonly wake: () => void) {}

  get hasWork(): boolean {
    return this.readRoundRequested || this.confChanges.length > 0;
  }

  requestReadRound(): void {
    this.readRoundRequested = true;
    this.wake();
  }

  proposeConfChange(cc: ConfChange): void {
    this.confChanges.push(cc);
    this.wake();
  }

  /** Steps the queued requests into `node`; the read round's context comes from `mode`. */
  deliver(node: PeerNode, mode: ServiceMode): void {
    if (this.readRoundRequested) {
      this.readRoundRequested = false;
      const ctx = mode.takeReadRound();
      if (ctx !== undefined) node.readIndex(ctx);
    }
    if (this.confChanges.length > 0) {
      for (const cc of this.confChanges.splice(0)) {
        try {
          node.proposeConfChange(cc);
        } catch (err) {
          // Refused (no leader, a change pending): the caller sees it never apply, and retries.
          if (!isRaftError(err)) throw err;
        }
      }
    }
  }
}
