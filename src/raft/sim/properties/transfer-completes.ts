// A leadership transfer to a reachable, caught-up voter completes within an election
// timeout. Checked for transfers requested in a settled still stretch (no faults, so the
// transferee is reachable and no message is lost) with the cluster healthy under the
// leader (no node that might disrupt the election) to a voter that the leader records as
// holding its whole log and that has applied every conf change the leader handed out (a
// node with unapplied conf changes refuses to campaign, by design). If the stretch ends
// first, the transfer is not judged.
import type { Status } from "../../api.js";
import { SafetyViolation } from "../checker.js";
import type { SimNode } from "../sim-node.js";
import { healthyUnder, type Property, type PropertyContext, votersOf } from "./context.js";

interface Pending {
  from: number;
  to: number;
  term: number;
  step: number;
  deadline: number;
  epoch: number;
}

export class TransferCompletes implements Property {
  private pending: Pending | undefined;

  constructor(private readonly ctx: PropertyContext) {}

  transferRequested(leader: SimNode, to: number): void {
    const w = this.ctx.world;
    const p = this.pending;
    if (p !== undefined) {
      // A request to another node replaces the transfer in progress: it is not judged.
      if (p.from === leader.id && p.to !== to) this.pending = undefined;
      return;
    }
    if (!w.stillSettled() || !healthyUnder(w, leader)) return;
    const target = w.node(to);
    if (!target.up || !votersOf(leader).includes(to) || !votersOf(target).includes(to)) return;
    const match = leader.raw!.status().progress.get(to)?.match ?? 0;
    if (match !== w.checker.view(leader.id, "mem").last) return;
    if (leader.sm.index < leader.lastConfIndex || target.sm.index < leader.lastConfIndex) return;
    this.pending = {
      from: leader.id,
      to,
      term: leader.term,
      step: w.now,
      deadline: w.ticks + this.ctx.electionTick,
      epoch: w.stillEpoch,
    };
  }

  observed(node: SimNode, st: Status): void {
    const p = this.pending;
    if (p !== undefined && node.id === p.to && node.isLeader && st.term > p.term) {
      this.pending = undefined;
    }
  }

  ticked(): void {
    const p = this.pending;
    if (p === undefined) return;
    const w = this.ctx.world;
    if (p.epoch !== w.stillEpoch) {
      this.pending = undefined;
      return;
    }
    if (w.ticks <= p.deadline) return;
    const leaders = w.nodes.filter((n) => n.up && n.isLeader).map((n) => `${n.id}@${n.term}`);
    throw new SafetyViolation(
      "transfer-completes",
      `leader ${p.from} of term ${p.term} was asked at step ${p.step} to transfer to caught-up ` +
        `voter ${p.to}, which did not lead within ${this.ctx.electionTick} ticks; leaders now: ` +
        `${leaders.length === 0 ? "none" : leaders.join(",")}`,
    );
  }
}
