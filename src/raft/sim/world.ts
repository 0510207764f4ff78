// The state every part of a simulation run shares: the one seeded generator that decides
// everything, the nodes, the network between them, the invariant checker, the trace ring
// and the clock. The scheduler, node I/O, workload and nemesis each act on this world;
// none of them owns it, so a seed replays the same run whichever part draws next.
import { SeededRng } from "../rng.js";
import type { Message } from "../types.js";
import { InvariantChecker } from "./checker.js";
import { SimNetwork } from "./network.js";
import type { SimOptions } from "./options.js";
import { SimNode } from "./sim-node.js";
import { TraceRing } from "./trace.js";

/** Steps a still stretch must last before its liveness properties apply (> the longest delay). */
export const SETTLE_STEPS = 400;

export class SimWorld {
  readonly opts: SimOptions;
  readonly rng: SeededRng;
  readonly checker = new InvariantChecker();
  readonly network: SimNetwork;
  /** nodes[id - 1] is node `id`. */
  readonly nodes: SimNode[] = [];
  readonly ids: number[] = [];
  readonly trace: TraceRing;
  /** The current step. */
  now = 0;
  /** The faults have stopped (the run's quiet phase). */
  quiet = false;
  /** Ticks so far (every up node ticks once per tickAll). */
  ticks = 0;
  /**
   * A still stretch: no faults of any kind (no message faults, partitions, crashes,
   * membership changes or forced campaigns) since `stillSince`. The quiet phase is one;
   * the nemesis schedules others during the run. The liveness properties hold here.
   */
  still = false;
  stillSince = 0;
  /** Changes whenever a still stretch begins or ends, so a property can tell it is the same one. */
  stillEpoch = 0;
  /** While partitioned: the nodes on the side without a majority of voters (clients aim there too). */
  minoritySide: number[] = [];

  constructor(opts: SimOptions) {
    if (!Number.isSafeInteger(opts.nodes) || opts.nodes < 1) {
      throw new RangeError(`nodes must be a positive integer, got ${opts.nodes}`);
    }
    this.opts = opts;
    this.rng = new SeededRng(opts.seed);
    this.trace = new TraceRing(opts.traceSize ?? 64);
    for (let id = 1; id <= opts.nodes; id++) this.ids.push(id);
    this.network = new SimNetwork(this.ids, this.rng);
  }

  /** Creates the nodes (not started) and tells the checker about them. */
  createNodes(): void {
    for (const id of this.ids) {
      this.nodes.push(new SimNode(id));
      this.checker.addNode(id);
    }
  }

  node(id: number): SimNode {
    return this.nodes[id - 1]!;
  }

  /** The up node that believes it leads the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes) {
      if (n.up && n.isLeader && (best === undefined || n.term > best.term)) best = n;
    }
    return best;
  }

  /**
   * Whether the current still stretch has lasted SETTLE_STEPS: by then every message
   * delayed by an earlier fault has arrived.
   */
  stillSettled(): boolean {
    return this.still && this.now >= this.stillSince + SETTLE_STEPS;
  }

  /** Up nodes that believe they lead a term below the highest leader's (stale leaders). */
  staleLeaders(): SimNode[] {
    const top = this.leader();
    if (top === undefined) return [];
    return this.nodes.filter((n) => n.up && n.isLeader && n.term < top.term);
  }

  randomUpNode(): SimNode | undefined {
    const up = this.nodes.filter((n) => n.up);
    return up.length === 0 ? undefined : up[this.rng.intn(up.length)];
  }

  note(node: number, what: string, msg?: Message): void {
    this.trace.add({ step: this.now, node, what, msg });
  }
}
