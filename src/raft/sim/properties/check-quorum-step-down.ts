// With check-quorum, a leader cut off from a quorum steps down within two election
// timeouts. "Cut off" is read from what the leader actually received: the property keeps,
// per leader and term, the tick at which each member's last append or heartbeat response
// of that term arrived (a voter added by a conf change counts as heard when the leader
// applies it: the core treats a new member as recently active). The tick by which a quorum of voters, the leader
// included, was last heard from, or the leader's election, or a transfer request (which
// restarts the leader's election timer), or a conf change (which changes who makes a
// quorum), whichever is latest, starts the clock: more than two election timeouts of
// ticks later the node must no longer lead.
import type { Status } from "../../api.js";
import { type Message, MessageType } from "../../types.js";
import { SafetyViolation } from "../checker.js";
import type { SimNode } from "../sim-node.js";
import { type Before, type Property, type PropertyContext, quorum, votersOf } from "./context.js";

interface Leadership {
  term: number;
  electedAt: number;
  transferAt: number;
  confAt: number;
  heard: Map<number, number>;
  /** The voters at the last conf change seen (to tell which ones are new). */
  voters: number[];
}

export class CheckQuorumStepDown implements Property {
  private readonly leaders = new Map<number, Leadership>();

  constructor(private readonly ctx: PropertyContext) {}

  observed(node: SimNode, st: Status, before: Before): void {
    if (!this.ctx.checkQuorum) return;
    if (!node.isLeader) {
      this.leaders.delete(node.id);
      return;
    }
    if (before.wasLeader && this.leaders.get(node.id)?.term === st.term) return;
    const now = this.ctx.world.ticks;
    this.leaders.set(node.id, {
      term: st.term,
      electedAt: now,
      transferAt: 0,
      confAt: 0,
      heard: new Map(),
      voters: votersOf(node),
    });
  }

  delivered(node: SimNode, m: Message): void {
    if (m.type !== MessageType.MsgAppResp && m.type !== MessageType.MsgHeartbeatResp) return;
    const l = this.leaders.get(node.id);
    if (l === undefined || !node.isLeader || m.term !== l.term) return;
    l.heard.set(m.from, this.ctx.world.ticks);
  }

  confApplied(node: SimNode): void {
    const l = this.leaders.get(node.id);
    if (l === undefined) return;
    const voters = votersOf(node);
    for (const id of voters) if (!l.voters.includes(id)) l.heard.set(id, this.ctx.world.ticks);
    l.voters = voters;
    l.confAt = this.ctx.world.ticks;
  }

  transferRequested(leader: SimNode): void {
    const l = this.leaders.get(leader.id);
    if (l !== undefined) l.transferAt = this.ctx.world.ticks;
  }

  ticked(): void {
    if (!this.ctx.checkQuorum) return;
    const w = this.ctx.world;
    const limit = 2 * this.ctx.electionTick;
    for (const [id, l] of this.leaders) {
      const node = w.node(id);
      if (!node.up || !node.isLeader || node.term !== l.term) {
        this.leaders.delete(id);
        continue;
      }
      const voters = votersOf(node);
      const others = voters.filter((v) => v !== id);
      const need = quorum(voters.length) - (voters.includes(id) ? 1 : 0);
      if (need <= 0) continue;
      // The tick by which `need` other voters had last been heard from.
      const heard = others.map((v) => l.heard.get(v) ?? -1).sort((a, b) => b - a);
      const quorumHeard = heard.length >= need ? heard[need - 1]! : -1;
      const since = Math.max(quorumHeard, l.electedAt, l.transferAt, l.confAt);
      if (w.ticks - since > limit) {
        throw new SafetyViolation(
          "check-quorum-step-down",
          `leader ${id} of term ${l.term} still leads ${w.ticks - since} ticks after it last ` +
            `heard from a quorum of voters [${voters.join(",")}] (limit ${limit}: two election timeouts)`,
        );
      }
    }
  }
}
