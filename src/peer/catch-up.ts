// The leader's account of followers that fell behind and caught up again (a follower
// restarted mid-run, a link that went down): one line when the leader notices, one when it
// has caught up. Pure: fed the core's status and a clock, it returns the lines to log.
import type { Status } from "../raft/api.js";

interface Behind {
  /** When the leader noticed (ms on the caller's clock). */
  since: number;
  /** Its match index then. */
  matchThen: number;
  /** When it answered again (its match moved or it is replicating again). */
  backAt: number | undefined;
}

export class CatchUpReporter {
  /** Followers seen replicating in this term: only those can fall behind. */
  private readonly replicating = new Set<number>();
  private readonly behind = new Map<number, Behind>();

  constructor(private readonly selfId: number) {}

  /** Forgets everything (a new epoch, a new term): followers start out in probe there. */
  reset(): void {
    this.replicating.clear();
    this.behind.clear();
  }

  /** Looks at the leader's progress; returns the lines worth logging. */
  observe(now: number, st: Status): string[] {
    const lines: string[] = [];
    for (const [id, pr] of st.progress) {
      if (id === this.selfId) continue;
      const b = this.behind.get(id);
      if (b === undefined) {
        if (pr.state === "replicate") this.replicating.add(id);
        else if (this.replicating.has(id)) {
          this.behind.set(id, { since: now, matchThen: pr.match, backAt: undefined });
          lines.push(
            `peer ${id} fell behind (${pr.state} at index ${pr.match}, commit ${st.commit})`,
          );
        }
        continue;
      }
      if (b.backAt === undefined && (pr.match > b.matchThen || pr.state === "replicate")) {
        b.backAt = now;
      }
      if (pr.state === "replicate" && pr.match >= st.commit) {
        const back = b.backAt ?? now;
        lines.push(
          `peer ${id} caught up in ${Math.round(now - back)} ms (${Math.max(0, pr.match - b.matchThen)} entries, away ${Math.round(back - b.since)} ms before)`,
        );
        this.behind.delete(id);
      }
    }
    return lines;
  }
}
