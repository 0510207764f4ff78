// The Peer's way out: every message an incarnation sends passes here, where commit-only
// MsgApps are coalesced (commit-coalescer.ts) on a leader, sends are recorded
// (instruments.ts), and batches leave through the transport tagged with the incarnation's
// epoch.
import type { Message } from "../raft/types.js";
import type { Transport } from "../transport/transport.js";
import type { Incarnation } from "./incarnation.js";
import type { PeerInstruments } from "./instruments.js";

export class Outbox {
  constructor(
    private readonly transport: Transport,
    private readonly instruments: PeerInstruments,
    /** Hold commit-only MsgApps for a turn (PeerOptions.coalesceCommitAppends). */
    private readonly coalesce: boolean,
  ) {}

  /** Sends `messages` produced in loop turn `turn`, holding back commit-only MsgApps. */
  send(inc: Incarnation, messages: readonly Message[], turn: number): void {
    if (!this.coalesce || inc.role !== "leader") {
      this.transmit(inc, messages);
      return;
    }
    const toSend = inc.coalescer.filter(messages, turn);
    if (toSend.length > 0) this.transmit(inc, toSend);
  }

  /** Sends the held commit-only MsgApps produced before turn `before` (all: +Infinity). */
  flushHeld(inc: Incarnation, before: number): void {
    if (inc.coalescer.size === 0) return;
    const out = inc.coalescer.takeDue(before);
    if (out.length > 0) this.transmit(inc, out);
  }

  private transmit(inc: Incarnation, messages: readonly Message[]): void {
    this.instruments.sending(inc.role === "leader", messages);
    this.transport.send(inc.epoch, messages);
  }
}
