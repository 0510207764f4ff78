// Liveness during the run, not only at its end: a calm stretch with a healthy leader has
// no term changes. Calm is a settled still stretch (no faults of any kind, every delayed
// message arrived). Healthy is checked at a tick: no transfer was requested for two
// election timeouts (an aborted transfer's MsgTimeoutNow may still be on its way), the
// cluster is healthy under the leader (healthyUnder in context.ts). From then until the stretch ends no node may
// reach a higher term; a client's leadership transfer ends the healthy period (it changes
// the term on purpose) and a new one may begin once the new leader is healthy.
import type { Status } from "../../api.js";
import { SafetyViolation } from "../checker.js";
import type { SimNode } from "../sim-node.js";
import { healthyUnder, type Property, type PropertyContext } from "./context.js";

interface Healthy {
  epoch: number;
  leader: number;
  term: number;
  since: number;
}

export class CalmTerms implements Property {
  private healthy: Healthy | undefined;
  /** Tick of the last transfer request (its MsgTimeoutNow may follow for an election timeout). */
  private transferAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly ctx: PropertyContext) {}

  ticked(): void {
    const w = this.ctx.world;
    if (!w.stillSettled()) {
      this.healthy = undefined;
      return;
    }
    if (this.healthy?.epoch === w.stillEpoch) return;
    if (w.ticks - this.transferAt <= 2 * this.ctx.electionTick) return;
    const leader = w.leader();
    if (leader === undefined || !healthyUnder(w, leader)) return;
    this.healthy = { epoch: w.stillEpoch, leader: leader.id, term: leader.term, since: w.now };
  }

  transferRequested(): void {
    this.healthy = undefined;
    this.transferAt = this.ctx.world.ticks;
  }

  observed(node: SimNode, st: Status): void {
    const h = this.healthy;
    if (h === undefined || st.term <= h.term) return;
    const w = this.ctx.world;
    if (h.epoch !== w.stillEpoch) {
      this.healthy = undefined;
      return;
    }
    throw new SafetyViolation(
      "calm-term-stable",
      `node ${node.id} moved to term ${st.term} in a calm stretch (no faults since step ` +
        `${w.stillSince}) while leader ${h.leader} of term ${h.term} was healthy (since step ${h.since})`,
    );
  }
}
