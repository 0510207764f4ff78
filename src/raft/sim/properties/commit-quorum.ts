// Commitment, checked at the moment a leader moves its commit index: the entry at the new
// commit index is of the leader's own term (the Raft paper's §5.4.2: an earlier term's
// entry is committed only through one of the current term), and a majority of the voters
// of the configuration in force durably hold that very entry. Both are checked against
// the logs as the checker tracks them, not the leader's own bookkeeping.
import type { Status } from "../../api.js";
import { SafetyViolation } from "../checker.js";
import type { SimNode } from "../sim-node.js";
import { type Before, type Property, type PropertyContext, quorum, votersOf } from "./context.js";

export class CommitQuorum implements Property {
  constructor(private readonly ctx: PropertyContext) {}

  observed(node: SimNode, st: Status, before: Before): void {
    // Only a commit the leader itself moved: it led before and after the event, same term.
    if (!node.isLeader || !before.wasLeader || before.term !== st.term) return;
    const c = st.commit;
    if (c <= before.commit) return;
    const checker = this.ctx.world.checker;
    const own = checker.view(node.id, "mem");
    if (c <= own.first) return; // below its snapshot: nothing a leader commits
    if (c > own.last) {
      throw new SafetyViolation(
        "commit-quorum",
        `leader ${node.id} of term ${st.term} committed ${c} beyond its own log (last ${own.last})`,
      );
    }
    const term = own.termAt(c);
    if (term !== st.term) {
      throw new SafetyViolation(
        "commit-own-term",
        `leader ${node.id} of term ${st.term} moved its commit from ${before.commit} to ${c}, ` +
          `an entry of term ${term}: only an entry of the leader's own term may be committed by counting`,
      );
    }
    const hash = own.hashAt(c);
    const voters = votersOf(node);
    const holders: number[] = [];
    for (const id of voters) {
      const disk = checker.view(id, "disk");
      if (c <= disk.first || (disk.has(c) && disk.hashAt(c) === hash)) holders.push(id);
    }
    if (holders.length < quorum(voters.length)) {
      throw new SafetyViolation(
        "commit-quorum",
        `leader ${node.id} of term ${st.term} committed ${c} (term ${term}), but only ` +
          `[${holders.join(",")}] of the voters [${voters.join(",")}] hold it durably`,
      );
    }
  }
}
