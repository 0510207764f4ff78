// Everything that reaches the node between two loop turns, queued until the loop steps it
// in: inbound batches from the transport, local messages from the pipeline's background
// work, ticks, unreachable and disconnect reports and a requested campaign. Both message queues are
// bounded (limits.ts says why, and what happens at the bound).
import { isRaftError } from "../raft/errors.js";
import type { Message } from "../raft/types.js";
import type { PeerNode } from "./contracts.js";
import { invariant } from "./errors.js";
import { MAX_INBOUND_MESSAGES, MAX_LOCAL_MESSAGES } from "./limits.js";
import { MessageQueue } from "./message-queue.js";

export class Inbox {
  private readonly inbound = new MessageQueue(MAX_INBOUND_MESSAGES);
  private readonly local = new MessageQueue(MAX_LOCAL_MESSAGES);
  private unreachable: number[] = [];
  private disconnected: number[] = [];
  private pendingTicks = 0;
  private campaignRequested = false;
  /** Inbound batches dropped at the bound. */
  droppedInboundBatches = 0;

  /** `wake` is called whenever something arrives: the loop has work. */
  constructor(private readonly wake: () => void) {}

  get queuedInbound(): number {
    return this.inbound.size;
  }

  get queuedLocal(): number {
    return this.local.size;
  }

  /** Whether a turn has anything of this inbox's to step in. */
  get hasWork(): boolean {
    return (
      this.pendingTicks > 0 ||
      this.inbound.size > 0 ||
      this.local.size > 0 ||
      this.unreachable.length > 0 ||
      this.disconnected.length > 0 ||
      this.campaignRequested
    );
  }

  /** A batch from the transport; dropped (and counted) at the bound: Raft retransmits. */
  received(messages: readonly Message[]): void {
    if (!this.inbound.push(messages)) {
      this.droppedInboundBatches++;
      return;
    }
    this.wake();
  }

  /** Local messages from the pipeline; never dropped, so the bound is an invariant. */
  stepLocal(messages: readonly Message[]): void {
    const queued = this.local.push(messages);
    invariant(
      queued,
      "local-queue-bounded",
      () =>
        `more than ${this.local.limit} local messages queued: a pipeline answers work that was never handed out`,
    );
    this.wake();
  }

  tick(): void {
    this.pendingTicks++;
    this.wake();
  }

  unreachableReported(id: number): void {
    this.unreachable.push(id);
    this.wake();
  }

  disconnectReported(id: number): void {
    this.disconnected.push(id);
    this.wake();
  }

  requestCampaign(): void {
    this.campaignRequested = true;
    this.wake();
  }

  /** Drops queued inbound messages (they belong to an epoch being left). */
  clearInbound(): void {
    this.inbound.clear();
  }

  /** Drops queued local messages (they answer an incarnation being retired). */
  clearLocal(): void {
    this.local.clear();
  }

  /**
   * Steps into `node`, in this order, the ticks, unreachable and disconnect reports, local messages,
   * inbound messages, and last (returned, for the caller to act on after its own checks)
   * whether ticks came and whether a campaign was asked for.
   */
  deliver(node: PeerNode): { ticked: boolean; campaign: boolean } {
    const ticked = this.pendingTicks > 0;
    for (; this.pendingTicks > 0; this.pendingTicks--) node.tick();
    if (this.unreachable.length > 0) {
      for (const id of this.unreachable.splice(0)) {
        node.reportUnreachable(id);
        // The core waits for a snapshot's fate before it sends that peer anything else, and
        // a snapshot the transport dropped (full queue, broken connection) is never
        // answered: report it failed, and the leader probes again after the peer's next
        // heartbeat answer (a snapshot that did land is then simply acknowledged).
        if (node.status().progress.get(id)?.state === "snapshot") node.reportSnapshot(id, false);
      }
    }
    if (this.disconnected.length > 0) {
      for (const id of this.disconnected.splice(0)) node.reportDisconnected(id);
    }
    if (this.local.size > 0) {
      for (const batch of this.local.takeAll()) stepAll(node, batch);
    }
    if (this.inbound.size > 0) {
      for (const batch of this.inbound.takeAll()) stepAll(node, batch);
    }
    const campaign = this.campaignRequested;
    this.campaignRequested = false;
    return { ticked, campaign };
  }
}

function stepAll(node: PeerNode, msgs: readonly Message[]): void {
  for (let i = 0; i < msgs.length; i++) {
    try {
      node.step(msgs[i]!);
    } catch (err) {
      // An expected refusal (a message from an unknown peer, say) is not fatal.
      if (!isRaftError(err)) throw err;
    }
  }
}
