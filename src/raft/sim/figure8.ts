// The Raft paper's Figure 8, played by the nemesis as a sequence of partitions that reacts
// to what the leaders do. The run's random faults rarely line the steps up:
//
//   1. The leader L1 (with one follower F in clusters of five or more) is cut off; clients
//      keep proposing to it as a stale leader, so it builds a tail the others lack.
//   2. The moment the majority side elects L2, L2 is cut off as well, before its first
//      append leaves: it holds entries of its newer term that nobody else has.
//   3. L1's side rejoins the rest (L2 stays alone). Only L1 can win (its log is the most
//      up to date); it replicates its old tail, in several appends when messages are
//      small. A correct leader commits none of it before an entry of its own term;
//      `commitPreviousTermByCount` commits the old tail by counting replicas.
//   4. At that moment L1's side is cut off again and what it still has in flight is
//      dropped; L2 joins the rest. L2's last term is newer than the old tail's, so it wins and overwrites
//      the entries L1 called committed: the checker sees a committed entry change.
//
// A phase that does not happen in time ends the episode, and everything heals.
import type { SimNode } from "./sim-node.js";
import type { SimWorld } from "./world.js";

type Phase = "idle" | "stale-tail" | "isolate-new-leader" | "old-leader-returns" | "overwrite";

/** Steps each phase may take before the episode is abandoned. */
const PHASE_STEPS = 3000;
/** Steps L2 stays cut off, taking proposals, before L1's side rejoins the rest. */
const L2_ALONE_STEPS = 300;
/** Steps the overwrite phase lasts before everything heals. */
const OVERWRITE_STEPS = 2000;

export class Figure8 {
  private phase: Phase = "idle";
  private phaseEnds = 0;
  private l1 = 0;
  private l1Term = 0;
  private l2 = 0;
  private follower = 0;
  /** Episodes begun, and how many reached the overwrite. */
  episodes = 0;
  overwrites = 0;
  /** How many episodes entered each phase. */
  readonly reached = new Map<Phase, number>();

  constructor(private readonly w: SimWorld) {}

  get active(): boolean {
    return this.phase !== "idle";
  }

  /** Starts an episode with the current leader, if the cluster is whole and unpartitioned. */
  begin(): boolean {
    const w = this.w;
    const leader = w.leader();
    if (this.active || leader === undefined || w.network.partitioned) return false;
    if (w.nodes.some((n) => !n.up)) return false;
    const others = w.ids.filter((id) => id !== leader.id);
    this.l1 = leader.id;
    this.l1Term = leader.term;
    this.follower = w.ids.length >= 5 ? others[w.rng.intn(others.length)]! : 0;
    this.l2 = 0;
    this.episodes++;
    this.enter("stale-tail");
    this.groups([this.side1()]);
    w.note(0, `figure 8: leader ${this.l1} cut off with [${this.side1()}]`);
    return true;
  }

  /** Called at every step: abandons a phase that took too long. */
  due(): void {
    if (!this.active || this.w.now < this.phaseEnds) return;
    if (this.phase === "isolate-new-leader") {
      this.rejoinOldLeader();
      return;
    }
    this.end(this.phase === "overwrite" ? "done" : `gave up in phase ${this.phase}`);
  }

  /** Ends the episode early (a still stretch or the quiet phase begins). */
  abort(): void {
    if (this.active) this.end("aborted");
  }

  /** A node was seen leading (node I/O's leaderSeen): the triggers of phases 2 and 4. */
  leaderSeen(leader: SimNode, elected: boolean, committed: boolean): void {
    if (this.phase === "stale-tail" && elected && leader.term > this.l1Term) {
      if (this.side1().includes(leader.id)) return;
      this.l2 = leader.id;
      this.enter("isolate-new-leader", L2_ALONE_STEPS);
      this.groups([this.side1(), [this.l2]]);
      this.w.note(0, `figure 8: new leader ${this.l2} cut off at once`);
      return;
    }
    if (this.phase === "old-leader-returns" && committed && leader.id === this.l1) {
      const view = this.w.checker.view(leader.id, "mem");
      const c = leader.commit;
      if (!view.has(c) || view.termAt(c) >= leader.term) return;
      // L1 just committed an entry of an earlier term by counting. F goes with it: it
      // holds L1's newest entry, and its vote would keep L2 from winning.
      for (const id of this.side1()) this.w.network.dropInFlightFrom(id);
      this.enter("overwrite", OVERWRITE_STEPS);
      this.groups([this.side1()]);
      this.overwrites++;
      this.w.note(0, `figure 8: leader ${this.l1} committed ${c} of an earlier term; cut off`);
    }
  }

  private rejoinOldLeader(): void {
    this.enter("old-leader-returns");
    this.groups([[this.l2]]);
    this.w.note(0, `figure 8: [${this.side1()}] rejoin; ${this.l2} stays cut off`);
  }

  private side1(): number[] {
    return this.follower === 0 ? [this.l1] : [this.l1, this.follower];
  }

  private enter(phase: Phase, steps = PHASE_STEPS): void {
    this.phase = phase;
    this.reached.set(phase, (this.reached.get(phase) ?? 0) + 1);
    this.phaseEnds = this.w.now + steps;
  }

  private end(why: string): void {
    this.phase = "idle";
    this.w.network.healAll();
    this.w.minoritySide = [];
    this.w.note(0, `figure 8: episode ends (${why})`);
  }

  /** Splits the cluster into the given groups and the rest, each cut off from the others. */
  private groups(groups: number[][]): void {
    const net = this.w.network;
    net.healAll();
    const rest = this.w.ids.filter((id) => !groups.some((g) => g.includes(id)));
    const all = [...groups, rest].filter((g) => g.length > 0);
    for (const a of all) {
      for (const b of all) {
        if (a === b) continue;
        for (const x of a) for (const y of b) net.block(x, y);
      }
    }
    // Clients aim at the smaller sides too (workload.ts).
    this.w.minoritySide = groups.flat();
  }
}
