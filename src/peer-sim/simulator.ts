// The whole-node simulator: real Peers (loop, proposal tracking, commit coalescing, one of
// the seven pipelines, the real Raft core) on virtual time, over a simulated network and
// simulated disks, with faults from a seeded nemesis. Everything a Peer schedules goes
// through its life's Scheduler, so the run is one sequence of events; after each event the
// driver lets every promise the event resolved run to completion (one real turn of the event
// loop, in which nothing else of the run can happen), so the same seed replays the same run.

import { memoryEpochStore } from "../peer/epoch.js";
import { Peer } from "../peer/peer.js";
import { pipelineSpec } from "../pipeline/registry.js";
import { SeededRng } from "../raft/rng.js";
import { PeerSimChecks } from "./checks.js";
import { PeerNemesis } from "./nemesis.js";
import {
  type PeerSimOptions,
  type PeerSimResult,
  type PeerSimViolation,
  peerQuietStart,
} from "./options.js";
import { proposalData } from "./proposal-ids.js";
import { SimDisk, SimDiskFailure, type SimStorage } from "./sim-disk.js";
import { SimNetwork } from "./sim-network.js";
import { Life, VirtualTime } from "./virtual-time.js";
import { watchedCore } from "./watched-core.js";

/** Virtual timing of the Peers: 10 ms ticks, elections after 10 ticks, heartbeats every tick. */
const TICK_MS = 10;
const ELECTION_TICKS = 10;
/** Mean virtual ms between two client proposals. */
const MEAN_PROPOSAL_GAP_MS = 2;
/** A crashed node restarts after this much virtual time, at most. */
const MAX_DOWN_MS = 600;
/**
 * After the run's steps, the drain: proposals go on only until one made after the faults
 * stopped is acknowledged, then every node must catch up with everything acknowledged
 * within this much virtual time, or the run fails for liveness.
 */
const DRAIN_MS = 20_000;
/** How often (events) the drain checks whether every node has caught up. */
const DRAIN_CHECK_EVERY = 64;

interface Running {
  life: Life;
  peer: Peer;
  storage: SimStorage;
  started: boolean;
}

/** Lets every promise the last event settled run out (one real turn of Node's loop). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class PeerSimulator {
  private readonly time = new VirtualTime();
  private readonly rng: SeededRng;
  private readonly network: SimNetwork;
  private readonly disks: SimDisk[] = [];
  private readonly epochStores = new Map<number, ReturnType<typeof memoryEpochStore>>();
  private readonly running = new Map<number, Running>();
  private readonly checks: PeerSimChecks;
  private readonly nemesis: PeerNemesis;
  private readonly trace: string[] = [];
  private readonly lazyFollowers: boolean;
  private lives = 0;
  private nextId = 1;
  private proposed = 0;
  private quiet = false;
  private draining = false;
  private drainSteps = 0;
  /** Proposals made after the faults stopped and acknowledged. */
  private quietAcks = 0;

  constructor(private readonly opts: PeerSimOptions) {
    if (!Number.isSafeInteger(opts.nodes) || opts.nodes < 1) {
      throw new RangeError(`nodes must be a positive integer, got ${opts.nodes}`);
    }
    this.lazyFollowers = pipelineSpec(opts.pipeline).lazyFollowers === true;
    this.rng = new SeededRng(opts.seed);
    for (let id = 1; id <= opts.nodes; id++) {
      this.epochStores.set(id, memoryEpochStore());
    }
    // The checks read the disks; the disks report to the checks.
    this.checks = new PeerSimChecks(opts.nodes, this.disks);
    for (let id = 1; id <= opts.nodes; id++)
      this.disks.push(new SimDisk(id, this.rng, this.checks));
    this.network = new SimNetwork(this.time, this.rng, this.checks);
    this.nemesis = new PeerNemesis(this.time, this.rng, this.network, this.disks, {
      nodes: opts.nodes,
      isUp: (id) => this.running.has(id),
      crash: (id, why) => this.crash(id, why),
      note: (line) => this.note(line),
    });
    this.checks.onPersistStep = (node, step) => this.nemesis.persistStep(node, step);
  }

  async run(): Promise<PeerSimResult> {
    const o = this.opts;
    const quietStart = peerQuietStart(o.steps);
    for (let id = 1; id <= o.nodes; id++) this.start(id);
    this.nemesis.start();
    this.scheduleProposal();
    const every = o.progressEvery ?? 0;
    while (this.time.steps < o.steps && this.checks.violation === undefined) {
      if (!this.time.runNext()) break;
      await settle();
      this.observe();
      const step = this.time.steps;
      if (step === quietStart) this.enterQuiet();
      if (every > 0 && step % every === 0) o.onProgress?.(step);
    }
    if (this.checks.violation === undefined && this.time.steps >= o.steps) await this.drain();
    return this.result();
  }

  /** Runs on without faults until every node has caught up (or the drain's time is up). */
  private async drain(): Promise<void> {
    if (!this.quiet) this.enterQuiet();
    const mainSteps = this.time.steps;
    const deadline = this.time.now + DRAIN_MS;
    while (this.checks.violation === undefined && this.time.now < deadline) {
      this.draining = this.quietAcks > 0;
      if (
        this.draining &&
        (this.time.steps - mainSteps) % DRAIN_CHECK_EVERY === 0 &&
        this.caughtUp()
      )
        break;
      if (!this.time.runNext()) break;
      await settle();
      this.observe();
    }
    this.drainSteps = this.time.steps - mainSteps;
    this.time.steps = mainSteps;
    if (this.checks.violation === undefined) this.endChecks();
  }

  /** Every node runs and has committed (and, if it applies, applied) all acknowledged. */
  private caughtUp(): boolean {
    let need = 0;
    for (const at of this.checks.acked.values()) need = Math.max(need, at.index);
    for (let id = 1; id <= this.opts.nodes; id++) {
      const r = this.running.get(id);
      if (r === undefined || !r.started) return false;
      if (r.peer.status().commit < need) return false;
      if (this.applies(r) && r.storage.appliedIndex() < need) return false;
    }
    return true;
  }

  /** Whether a node's state holds everything: not a lazy follower's, which skips. */
  private applies(r: Running): boolean {
    return !this.lazyFollowers || r.peer.isLeader();
  }

  private result(): PeerSimResult {
    const v = this.checks.violation;
    const violation: PeerSimViolation | undefined =
      v === undefined
        ? undefined
        : { property: v.property, detail: v.detail, step: this.time.steps };
    if (violation !== undefined) this.note(`VIOLATION ${violation.property}: ${violation.detail}`);
    return {
      seed: this.opts.seed,
      pipeline: this.opts.pipeline,
      nodes: this.opts.nodes,
      steps: this.time.steps,
      drainSteps: this.drainSteps,
      virtualMs: this.time.now,
      proposed: this.proposed,
      acked: this.checks.acked.size,
      elections: this.checks.core.elections,
      crashes: this.nemesis.crashes,
      crashesInPersist: this.nemesis.crashesInPersist,
      syncFailures: this.nemesis.syncFailures,
      partitions: this.nemesis.partitions,
      violation,
      trace: this.trace.slice(),
    };
  }

  private note(line: string): void {
    this.trace.push(`${this.time.now.toFixed(3)}ms #${this.time.steps} ${line}`);
    const keep = this.opts.traceSize ?? 40;
    if (this.trace.length > keep) this.trace.splice(0, this.trace.length - keep);
  }

  /** Starts a new life of node `id` over its disk. */
  private start(id: number): void {
    const life = new Life(id, ++this.lives);
    const sched = this.time.schedulerFor(life);
    const storage = this.disks[id - 1]!.open(sched, life);
    const peer = new Peer({
      id,
      peerIds: Array.from({ length: this.opts.nodes }, (_, i) => i + 1),
      transport: this.network.transport(life, sched),
      storage,
      raft: watchedCore((entries) => this.checks.appending(id, entries)),
      pipeline: this.opts.pipeline,
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      campaignOnElectionTimeout: true,
      epochStore: this.epochStores.get(id)!,
      compactEvery: { unit: "off" },
      seed: this.rng.nextU32(),
      scheduler: sched,
      ...(this.opts.bug !== undefined ? { pipelineTestingBugs: { [this.opts.bug]: true } } : {}),
      log: (line) => this.note(line),
      onFatal: (err) => this.onFatal(life, err),
    });
    const r: Running = { life, peer, storage, started: false };
    this.running.set(id, r);
    peer.start().then(
      () => {
        r.started = life.alive;
      },
      (err: unknown) =>
        this.checks.fail("unexpected-fatal", `node ${id} failed to start: ${String(err)}`),
    );
  }

  private onFatal(life: Life, err: unknown): void {
    const r = this.running.get(life.node);
    if (r === undefined || r.life !== life) return;
    if (err instanceof SimDiskFailure && r.storage.failed) {
      // The node stopped, as it must after a failed sync; it comes back from its disk.
      this.crash(life.node, `stopped after a failed sync (${err.message})`);
      return;
    }
    const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
    this.checks.fail(
      "unexpected-fatal",
      `node ${life.node} failed with no disk fault: ${text.split("\n").slice(0, 3).join(" | ")}`,
    );
  }

  /** Kills node `id`'s process at once: what its disk made durable is all that is left. */
  private crash(id: number, why: string): void {
    const r = this.running.get(id);
    if (r === undefined) return;
    if (r.storage.failed) this.checks.syncFailed(r.life);
    r.life.alive = false;
    this.running.delete(id);
    const kept = this.disks[id - 1]!.crash();
    this.checks.crashed(id);
    this.note(
      `node ${id} crashed (${why}); unsynced writes kept: log ${kept.keptLogWrites} (torn entries ${kept.tornEntries}), engine ${kept.keptEngineWrites}`,
    );
    const downMs = this.quiet ? 1 : 5 + this.rng.intn(MAX_DOWN_MS);
    this.time.schedule(downMs, () => {
      if (!this.running.has(id)) this.start(id);
    });
  }

  private enterQuiet(): void {
    this.quiet = true;
    this.nemesis.stop();
    this.note("faults stop");
    for (let id = 1; id <= this.opts.nodes; id++) {
      if (!this.running.has(id))
        this.time.schedule(1, () => this.running.has(id) || this.start(id));
    }
  }

  private scheduleProposal(): void {
    const gap = -Math.log(1 - this.rng.float()) * MEAN_PROPOSAL_GAP_MS;
    this.time.schedule(gap, () => {
      if (!this.draining) this.propose();
      this.scheduleProposal();
    });
  }

  /** A client proposes to a node that believes it leads (any of them, stale ones too). */
  private propose(): void {
    const leaders: Running[] = [];
    for (const r of this.running.values()) if (r.started && r.peer.isLeader()) leaders.push(r);
    if (leaders.length === 0) return;
    const r = leaders[this.rng.intn(leaders.length)]!;
    const id = this.nextId++;
    this.proposed++;
    const inQuiet = this.quiet;
    r.peer.propose(proposalData(id)).then(
      () => {
        this.checks.ackedBy(r.life.node, id);
        if (inQuiet) this.quietAcks++;
      },
      () => {},
    );
  }

  private observe(): void {
    for (const [id, r] of this.running) {
      if (r.started) this.checks.observe(id, r.peer.status());
    }
  }

  private endChecks(): void {
    if (this.quietAcks === 0) {
      this.checks.fail("liveness", "no proposal made after the faults stopped was acknowledged");
      return;
    }
    const views = [];
    for (let id = 1; id <= this.opts.nodes; id++) {
      const r = this.running.get(id);
      if (r === undefined || !r.started) {
        this.checks.fail("liveness", `node ${id} is not running at the end of the quiet phase`);
        return;
      }
      const st = r.peer.status();
      views.push({
        node: id,
        log: r.storage.entriesSeen(),
        commit: st.commit,
        applied: r.storage.appliedIndex(),
        appliedIds: new Set(r.storage.appliedIds()),
        // A lazy follower's state holds only what it applied while it led.
        applies: this.applies(r),
      });
    }
    this.checks.finalCheck(views);
  }
}

/** Runs one whole-node simulation. */
export function runPeerSimulation(opts: PeerSimOptions): Promise<PeerSimResult> {
  return new PeerSimulator(opts).run();
}
