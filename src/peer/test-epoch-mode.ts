// The benchmark node's mode: test epochs. Every batch carries the sender's epoch; an older one
// is dropped, a newer one makes the node wipe its Raft state and start over in it (the loop
// does the reset; this file decides when and records the epoch once the reset is durable).
// Proposals are taken on the leader only and matched to the log index they were given.
import type { ReadState } from "../raft/api.js";
import type { ConfChange, Message } from "../raft/types.js";
import type { Epoch, InboundBatch } from "../transport/transport.js";
import type { PeerStorage } from "./contracts.js";
import {
  compareEpoch,
  type EpochStore,
  formatEpoch,
  NO_EPOCH,
  type OpenedEpoch,
  openEpoch,
} from "./epoch.js";
import { PeerError } from "./errors.js";
import type { Incarnation } from "./incarnation.js";
import type { PeerMode } from "./mode.js";
import type { ProposalBuffer, TakenProposals } from "./proposal-buffer.js";
import { proposeFromBuffer } from "./proposal-matching.js";

/** What the epochs need from the Peer. */
export interface EpochHost {
  /** Drops the inbound messages still queued: they belong to the epoch being left. */
  clearInbound(): void;
  /** Counts the messages of a batch of the current epoch. */
  received(messages: readonly Message[]): void;
  log(line: string): void;
  /** Wakes the loop. */
  wake(): void;
}

export class TestEpochMode implements PeerMode {
  epoch: Epoch = NO_EPOCH;
  droppedOldEpochBatches = 0;
  readonly keepsBufferOnLostLeadership = false;
  readonly gathersBeforeTurn = false;
  /** Ignoring the current epoch until the next (OpenedEpoch.sittingOut in epoch.ts). */
  private sittingOut = false;
  private resetTo: Epoch | undefined;
  private resetWaiters: (() => void)[] = [];

  constructor(
    private readonly id: number,
    private readonly store: EpochStore,
    private readonly owner: { start: number } | undefined,
    private readonly host: EpochHost,
  ) {}

  async open(storage: PeerStorage): Promise<OpenedEpoch> {
    const opened = await openEpoch(storage, this.store, this.owner);
    this.epoch = opened.epoch;
    this.sittingOut = opened.sittingOut;
    return opened;
  }

  startedLine(opened: OpenedEpoch, storage: PeerStorage, pipeline: string): string {
    const epoch = formatEpoch(this.epoch);
    if (opened.sittingOut) {
      return `peer ${this.id}: its log of epoch ${epoch} did not survive the restart (${storage.description}): sitting that epoch out, joining the leader's next one as an empty node`;
    }
    const how = opened.fresh ? "bootstrapped" : `restarted at index ${storage.lastIndex()}`;
    return `peer ${this.id}: ${how} in epoch ${epoch}, pipeline ${pipeline}`;
  }

  admit(b: InboundBatch): boolean {
    const c = compareEpoch(b.epoch, this.epoch);
    // Only the owner starts epochs, so a newer one reaching it is stale traffic from before
    // its restart; a node sitting its epoch out waits for the next.
    if (c < 0 || (c > 0 && this.owner !== undefined) || (c === 0 && this.sittingOut)) {
      this.droppedOldEpochBatches++;
      return false;
    }
    if (c === 0) this.host.received(b.messages);
    if (c > 0) {
      this.sittingOut = false;
      this.host.log(
        `peer ${this.id}: new test epoch ${formatEpoch(b.epoch)}: resetting Raft state`,
      );
      this.adopt(b.epoch);
    }
    return true;
  }

  get hasWork(): boolean {
    return this.resetTo !== undefined;
  }

  takeReset(): Epoch | undefined {
    const target = this.resetTo;
    this.resetTo = undefined;
    return target;
  }

  async resetDone(target: Epoch): Promise<void> {
    // Only now that the wiped state is durable may the new epoch be recorded.
    if (this.owner === undefined) await this.store.save(target);
    // A still newer epoch may have arrived meanwhile: the next turn resets again.
    if (this.resetTo === undefined) this.releaseWaiters();
  }

  async next(): Promise<Epoch> {
    if (this.owner === undefined) {
      throw new PeerError("not-epoch-owner", "only the epoch owner starts epochs");
    }
    const next = { start: this.epoch.start, iteration: this.epoch.iteration + 1 };
    this.adopt(next);
    await new Promise<void>((resolve) => {
      this.resetWaiters.push(resolve);
      this.host.wake();
    });
    return next;
  }

  releaseWaiters(): void {
    for (const w of this.resetWaiters.splice(0)) w();
  }

  propose(
    inc: Incarnation,
    buffer: ProposalBuffer,
    max: number,
    room: number,
  ): TakenProposals | undefined {
    return room > 0 ? proposeFromBuffer(buffer, inc, Math.min(max, room)) : undefined;
  }

  onReadStates(_states: readonly ReadState[]): void {}

  onProgress(): void {}

  confChangeApplied(_cc: ConfChange): void {}

  requestReadRound(): void {
    throw serviceOnly("a ReadIndex round");
  }

  proposeConfChange(_cc: ConfChange): void {
    throw serviceOnly("a membership change");
  }

  /** Switches to `e`: messages of the old epoch still queued are dropped; the loop resets. */
  private adopt(e: Epoch): void {
    this.epoch = e;
    this.host.clearInbound();
    this.resetTo = e;
  }
}

function serviceOnly(what: string): PeerError {
  return new PeerError("not-service-mode", `${what} needs a service-mode peer`);
}
