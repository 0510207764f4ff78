// The deterministic cluster simulator's scheduler. N nodes share one seeded generator
// that decides every step: deliver a message, let a node persist or apply, tick the
// clocks, issue a client operation (workload.ts), or inject a fault (nemesis.ts); what a
// node does with each event is node I/O (node-io.ts). The invariant checker runs on every
// event, so a run stops at the first step that breaks a Raft safety property, and the same
// seed replays the same run bit for bit.
//
// A run ends with a quiet phase: partitions heal, crashed nodes restart, message faults and
// membership changes stop. Within LIVENESS_STEPS of that a proposal made after it must be
// applied somewhere, or the run reports a liveness failure.
import { SafetyViolation } from "./checker.js";
import { Nemesis } from "./nemesis.js";
import { NodeIo } from "./node-io.js";
import {
  LIVENESS_STEPS,
  quietPhaseStart,
  type SimOptions,
  type SimResult,
  type Violation,
} from "./options.js";
import type { SimNode } from "./sim-node.js";
import { Workload } from "./workload.js";
import { SimWorld } from "./world.js";

// Per-step probabilities of the scheduler's choices; the rest of the steps do node work
// (deliver a message, persist, apply).
const P_TICK = 0.02;
const P_CLIENT = 0.04;
/**
 * Faults come in weather: windows of STORM_STEPS alternate between storms (a fault every
 * 25 steps on average, where elections pile up) and calm (where the cluster catches up
 * and commits).
 */
const P_FAULT_STORM = 0.04;
const P_FAULT_CALM = 0.004;
const STORM_STEPS = 2000;
/**
 * Half of the calm windows, chosen by the seed, are still: no faults at all, so the
 * liveness properties (properties/) can demand a stable leader, prompt transfers.
 */
const STILL_ODDS = 2;
/**
 * Snapshot-and-compact on a random node (with the compact fault). Not stopped in the quiet
 * phase: a node added after the leader's last snapshot can only catch up from a newer one.
 */
const P_COMPACT = 0.004;

export class Simulator {
  private readonly w: SimWorld;
  private readonly io: NodeIo;
  private readonly workload: Workload;
  private readonly nemesis: Nemesis;
  private readonly quietStart: number;
  /** The weather window of the last step (-1 before the first). */
  private window = -1;

  constructor(opts: SimOptions) {
    this.w = new SimWorld(opts);
    this.quietStart = quietPhaseStart(opts.steps);
    // Node I/O reports leaders to the nemesis (aimed faults) and applied entries to the
    // workload (commit counting, liveness); both are built right after it.
    this.io = new NodeIo(this.w, {
      leaderSeen: (leader, elected, committed) =>
        this.nemesis.leaderSeen(leader, elected, committed),
      applied: (index, entry) => this.workload.applied(index, entry),
    });
    this.workload = new Workload(this.w, this.io);
    this.nemesis = new Nemesis(this.w, this.io);
  }

  run(): SimResult {
    const w = this.w;
    let violation: Violation | undefined;
    const every = w.opts.progressEvery ?? 0;
    try {
      w.createNodes();
      for (const node of w.nodes) {
        this.io.startNode(node);
        this.io.core(node, "bootstrap", () => node.raw!.bootstrap(w.ids));
        this.io.afterEvent(node);
      }
      while (w.now < w.opts.steps) {
        w.now++;
        this.step();
        if (every > 0 && w.now % every === 0) w.opts.onProgress?.(w.now);
      }
    } catch (e) {
      if (!(e instanceof SafetyViolation)) throw e;
      violation = { invariant: e.invariant, detail: e.detail, step: w.now };
      w.note(0, `VIOLATION ${e.invariant}: ${e.detail}`);
    }
    return {
      seed: w.opts.seed,
      nodes: w.opts.nodes,
      steps: w.now,
      commits: this.workload.commits,
      elections: w.checker.elections,
      crashes: this.nemesis.crashes,
      partitions: this.nemesis.partitions,
      violation,
      trace: w.trace.lines(),
    };
  }

  private step(): void {
    const w = this.w;
    if (w.now === this.quietStart) this.enterQuiet();
    const window = Math.floor(w.now / STORM_STEPS);
    if (window !== this.window) this.changeWeather(window);
    this.nemesis.due();
    const pFault = window % 2 === 1 ? P_FAULT_STORM : P_FAULT_CALM;
    const r = w.rng.float();
    if (r < P_TICK) this.io.tickAll();
    else if (r < P_TICK + P_CLIENT) this.workload.clientOp();
    else if (r < P_TICK + P_CLIENT + pFault) this.nemesis.faultOp();
    else if (r < P_TICK + P_CLIENT + pFault + P_COMPACT) this.nemesis.compactOne();
    else this.work();
    if (w.quiet && !this.workload.livenessMet && w.now >= this.quietStart + LIVENESS_STEPS) {
      const leaders = w.nodes.filter((n) => n.up && n.isLeader).map((n) => n.id);
      throw new SafetyViolation(
        "liveness",
        `no proposal made after the faults stopped (step ${this.quietStart}) was applied within ` +
          `${LIVENESS_STEPS} steps; leaders now: ${leaders.length === 0 ? "none" : leaders.join(",")}`,
      );
    }
  }

  /** A new weather window: a still stretch ends, and a calm window may be still. */
  private changeWeather(window: number): void {
    this.window = window;
    if (this.w.quiet) return;
    this.nemesis.endStill();
    if (window % 2 === 0) {
      // A Figure 8 episode still under way keeps its storm going.
      const still = this.w.rng.intn(STILL_ODDS) === 0;
      if (still && !this.nemesis.figure8.active) this.nemesis.beginStill();
    } else {
      this.nemesis.stormBegins();
    }
  }

  private enterQuiet(): void {
    this.w.quiet = true;
    this.workload.faultsStopped();
    this.nemesis.stop();
    this.w.note(0, "faults stop");
  }

  /**
   * One unit of node work. A node is picked with a weight that grows with its backlog, so
   * a leader answering four followers is not starved by followers with one message each.
   */
  private work(): void {
    const ready: SimNode[] = [];
    const weights: number[] = [];
    let total = 0;
    for (const node of this.w.nodes) {
      if (!node.up) continue;
      const weight = this.io.backlog(node);
      if (weight === 0) continue;
      ready.push(node);
      weights.push(weight);
      total += weight;
    }
    if (ready.length === 0) {
      this.io.tickAll(); // nothing to do: let time pass
      return;
    }
    let pick = this.w.rng.intn(total);
    let i = 0;
    while (pick >= weights[i]!) pick -= weights[i++]!;
    const kinds = this.io.workKinds(ready[i]!);
    kinds[this.w.rng.intn(kinds.length)]!();
  }
}

/** Runs one simulation; the options are validated by the caller. */
export function runSimulation(opts: SimOptions): SimResult {
  return new Simulator(opts).run();
}
