// A leader's recorded match for a follower agrees with that follower's durable log: the
// follower durably holds the leader's entry at the match index (same prefix hash). Checked
// whenever a leader's match for a follower changes, while the follower is still in the
// leader's term (a follower that moved on may legitimately have dropped an uncommitted
// tail the stale leader still counts).
import type { Status } from "../../api.js";
import { SafetyViolation } from "../checker.js";
import type { SimNode } from "../sim-node.js";
import type { Property, PropertyContext } from "./context.js";

export class MatchAgreement implements Property {
  /** Per leader: the term its matches belong to, and the last match checked per follower. */
  private readonly seen = new Map<number, { term: number; match: Map<number, number> }>();

  constructor(private readonly ctx: PropertyContext) {}

  observed(node: SimNode, st: Status): void {
    if (!node.isLeader) return;
    let mine = this.seen.get(node.id);
    if (mine === undefined || mine.term !== st.term) {
      mine = { term: st.term, match: new Map() };
      this.seen.set(node.id, mine);
    }
    const w = this.ctx.world;
    for (const [id, pr] of st.progress) {
      if (id === node.id || pr.match === 0 || mine.match.get(id) === pr.match) continue;
      mine.match.set(id, pr.match);
      const follower = w.node(id);
      if (follower.term !== st.term) continue;
      const own = w.checker.view(node.id, "mem");
      const m = pr.match;
      if (m <= own.first || m > own.last) continue;
      const disk = w.checker.view(id, "disk");
      if (m <= disk.first) continue; // its snapshot covers the match
      if (m > disk.last || disk.hashAt(m) !== own.hashAt(m)) {
        const what =
          m > disk.last
            ? `its durable log ends at ${disk.last}`
            : `its durable entry ${m} has term ${disk.termAt(m)} and a different prefix`;
        throw new SafetyViolation(
          "match-agreement",
          `leader ${node.id} of term ${st.term} records match ${m} (term ${own.termAt(m)}) for ` +
            `follower ${id}, but ${what}`,
        );
      }
    }
  }
}
