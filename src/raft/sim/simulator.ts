// The deterministic cluster simulator. N nodes share one seeded generator that decides
// every step: deliver a message, let a node persist or apply, tick the clocks, issue a
// client operation, or inject a fault. The invariant checker runs on every event, so a
// run stops at the first step that breaks a Raft safety property, and the same seed
// replays the same run bit for bit.
//
// Persistence is explicit: a node's MemoryStorage and StateMachine are durable, its RawNode,
// the Ready in its hands and its worker queues are not. A crash drops the volatile part; a
// restart builds a new RawNode from the storage with `applied` = the storage's snapshot
// index, and the state machine skips the entries it applied before the crash (it replays
// their configuration changes to the core, which only knows the snapshot's configuration).
//
// Faults: message loss, duplication, delay and reordering (per message); partitions,
// symmetric or one-way, that heal; crashes and restarts; compaction with snapshot catch-up.
// They come in alternating storms and calms, and some are aimed at a leader right after it
// is elected or commits, the moments uniform randomness rarely hits (see considerNemesis).
//
// A run ends with a quiet phase: partitions heal, crashed nodes restart, message faults and
// membership changes stop. Within LIVENESS_STEPS of that a proposal made after it must be
// applied somewhere, or the run reports a liveness failure.
import type { Config, Ready, Status, TestingBugs } from "../api.js";
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD } from "../api.js";
import { decodeConfChange } from "../confchange.js";
import { InvariantViolation, isRaftError } from "../errors.js";
import { SeededRng } from "../rng.js";
import {
  type ConfChange,
  ConfChangeType,
  type Entry,
  EntryType,
  type HardState,
  isEmptySnapshot,
  type Message,
  MessageType,
  type Snapshot,
} from "../types.js";
import { InvariantChecker, type InvariantName, SafetyViolation } from "./checker.js";
import { type FaultSet, formatFaults } from "./faults.js";
import { NO_NETWORK_FAULTS, SimNetwork } from "./network.js";
import { SimNode } from "./sim-node.js";
import { decodeImage } from "./state-machine.js";
import { TraceRing } from "./trace.js";

export interface SimOptions {
  seed: number;
  nodes: number;
  steps: number;
  faults: FaultSet;
  /** Run every node with asyncStorageWrites. */
  async: boolean;
  testingBugs?: TestingBugs;
  /** How many of the last events to keep for a violation report. */
  traceSize?: number;
  /** Called every `progressEvery` steps (for progress output on long runs). */
  onProgress?: (step: number) => void;
  progressEvery?: number;
}

export interface Violation {
  invariant: InvariantName;
  detail: string;
  step: number;
}

export interface SimResult {
  seed: number;
  nodes: number;
  /** Steps executed (less than asked for when a violation stopped the run). */
  steps: number;
  /** Client proposals applied (each counted once, on the first node that applied it). */
  commits: number;
  elections: number;
  crashes: number;
  partitions: number;
  violation?: Violation;
  /** The last events before the end of the run, formatted. */
  trace: string[];
}

export function summaryLine(r: SimResult): string {
  return (
    `sim: seed=${r.seed} nodes=${r.nodes} steps=${r.steps} commits=${r.commits} ` +
    `elections=${r.elections} crashes=${r.crashes} partitions=${r.partitions} ` +
    `violations=${r.violation === undefined ? 0 : 1}`
  );
}

/** Steps after the faults stop within which a new proposal must be applied. */
export const LIVENESS_STEPS = 4000;
/** Longest quiet phase at the end of a run. */
const MAX_QUIET_STEPS = 6000;

/** The step at which the faults stop: the last quarter of a run, at most MAX_QUIET_STEPS. */
export function quietPhaseStart(steps: number): number {
  return steps - Math.min(MAX_QUIET_STEPS, Math.floor(steps / 4));
}

const ELECTION_TICK = 10;
const HEARTBEAT_TICK = 2;

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
 * Snapshot-and-compact on a random node (with the compact fault). Not stopped in the quiet
 * phase: a node added after the leader's last snapshot can only catch up from a newer one.
 */
const P_COMPACT = 0.004;

/** Proposal payloads start with this many bytes: a sequence number (for liveness). */
const SEQ_BYTES = 4;

export class Simulator {
  private readonly opts: SimOptions;
  private readonly rng: SeededRng;
  private readonly checker = new InvariantChecker();
  private readonly network: SimNetwork;
  private readonly nodes: SimNode[] = [];
  private readonly ids: number[] = [];
  private readonly trace: TraceRing;
  private readonly quietStart: number;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxSizePerMsg: number;
  private now = 0;
  private quiet = false;
  private commits = 0;
  private crashes = 0;
  private partitions = 0;
  private healAt = 0;
  /** A leader picked for a fault at a delicate moment (0: none), and when. */
  private nemesisTarget = 0;
  private nemesisAt = 0;
  private highestApplied = 0;
  private nextSeq = 1;
  private nextReadId = 1;
  private quietFirstSeq = Number.POSITIVE_INFINITY;
  private livenessMet = false;

  constructor(opts: SimOptions) {
    if (!Number.isSafeInteger(opts.nodes) || opts.nodes < 1) {
      throw new RangeError(`nodes must be a positive integer, got ${opts.nodes}`);
    }
    this.opts = opts;
    this.rng = new SeededRng(opts.seed);
    this.trace = new TraceRing(opts.traceSize ?? 64);
    for (let id = 1; id <= opts.nodes; id++) this.ids.push(id);
    this.network = new SimNetwork(this.ids, this.rng);
    this.quietStart = quietPhaseStart(opts.steps);
    // Both settings are exercised across seeds; neither affects safety.
    this.preVote = this.rng.intn(4) !== 0;
    this.checkQuorum = this.rng.intn(4) !== 0;
    // Small messages make followers catch up in many partial appends, where commitment
    // rules matter most.
    this.maxSizePerMsg = [64, 256, 4096][this.rng.intn(3)]!;
    const f = opts.faults;
    this.network.faults = {
      drop: f.has("drop") ? 0.02 : 0,
      dup: f.has("dup") ? 0.02 : 0,
      delay: f.has("reorder") ? 0.05 : 0,
      maxDelay: 200,
      reorderWindow: f.has("reorder") ? 4 : 1,
    };
  }

  run(): SimResult {
    let violation: Violation | undefined;
    const every = this.opts.progressEvery ?? 0;
    try {
      for (const id of this.ids) {
        const node = new SimNode(id);
        this.nodes.push(node);
        this.checker.addNode(id);
      }
      for (const node of this.nodes) {
        this.startNode(node);
        this.core(node, "bootstrap", () => node.raw!.bootstrap(this.ids));
        this.afterEvent(node);
      }
      while (this.now < this.opts.steps) {
        this.now++;
        this.step();
        if (every > 0 && this.now % every === 0) this.opts.onProgress?.(this.now);
      }
    } catch (e) {
      if (!(e instanceof SafetyViolation)) throw e;
      violation = { invariant: e.invariant, detail: e.detail, step: this.now };
      this.note(0, `VIOLATION ${e.invariant}: ${e.detail}`);
    }
    return {
      seed: this.opts.seed,
      nodes: this.opts.nodes,
      steps: this.now,
      commits: this.commits,
      elections: this.checker.elections,
      crashes: this.crashes,
      partitions: this.partitions,
      violation,
      trace: this.trace.lines(),
    };
  }

  // ---- scheduling ------------------------------------------------------------------

  private step(): void {
    if (this.now === this.quietStart) this.enterQuiet();
    if (this.network.partitioned && this.now >= this.healAt) {
      this.network.healAll();
      this.note(0, "partition healed");
    }
    for (const node of this.nodes) {
      if (!node.up && this.now >= node.restartAt) this.restart(node);
    }
    if (this.nemesisTarget !== 0 && this.now >= this.nemesisAt) this.strikeNemesis();
    const pFault = Math.floor(this.now / STORM_STEPS) % 2 === 1 ? P_FAULT_STORM : P_FAULT_CALM;
    const r = this.rng.float();
    if (r < P_TICK) this.tickAll();
    else if (r < P_TICK + P_CLIENT) this.clientOp();
    else if (r < P_TICK + P_CLIENT + pFault) this.faultOp();
    else if (r < P_TICK + P_CLIENT + pFault + P_COMPACT) this.compactOne();
    else this.work();
    if (this.quiet && !this.livenessMet && this.now >= this.quietStart + LIVENESS_STEPS) {
      const leaders = this.nodes.filter((n) => n.up && n.isLeader).map((n) => n.id);
      throw new SafetyViolation(
        "liveness",
        `no proposal made after the faults stopped (step ${this.quietStart}) was applied within ` +
          `${LIVENESS_STEPS} steps; leaders now: ${leaders.length === 0 ? "none" : leaders.join(",")}`,
      );
    }
  }

  private enterQuiet(): void {
    this.quiet = true;
    this.quietFirstSeq = this.nextSeq;
    this.network.faults = NO_NETWORK_FAULTS;
    this.network.healAll();
    for (const node of this.nodes) if (!node.up) this.restart(node);
    this.note(0, "faults stop");
  }

  /**
   * One unit of node work. A node is picked with a weight that grows with its backlog, so
   * a leader answering four followers is not starved by followers with one message each.
   */
  private work(): void {
    const ready: SimNode[] = [];
    const weights: number[] = [];
    let total = 0;
    for (const node of this.nodes) {
      if (!node.up) continue;
      const backlog = this.network.hasDeliverable(node.id, this.now)
        ? this.network.queued(node.id)
        : 0;
      const storage = node.appendQueue.length + (node.pending === undefined ? 0 : 1);
      const w = backlog + storage + node.applyQueue.length;
      if (w === 0) continue;
      ready.push(node);
      weights.push(w);
      total += w;
    }
    if (ready.length === 0) {
      this.tickAll(); // nothing to do: let time pass
      return;
    }
    let pick = this.rng.intn(total);
    let i = 0;
    while (pick >= weights[i]!) pick -= weights[i++]!;
    const node = ready[i]!;
    const kinds: (() => void)[] = [];
    if (this.network.hasDeliverable(node.id, this.now)) kinds.push(() => this.deliver(node));
    if (node.hasStorageWork()) kinds.push(() => this.storageWork(node));
    if (node.hasApplyWork()) kinds.push(() => this.applyWork(node));
    kinds[this.rng.intn(kinds.length)]!();
  }

  private tickAll(): void {
    this.note(0, "tick");
    for (const node of this.nodes) {
      if (!node.up) continue;
      this.core(node, "tick", () => node.raw!.tick());
      this.afterEvent(node);
    }
  }

  /** Receives a few messages (a transport reads what has arrived, up to a batch). */
  private deliver(node: SimNode): void {
    const batch = 1 + this.rng.intn(4);
    for (let i = 0; i < batch && node.up; i++) {
      const m = this.network.take(node.id, this.now);
      if (m === undefined) return;
      this.note(node.id, "recv", m);
      this.stepInto(node, m);
      this.afterEvent(node);
      if (m.type === MessageType.MsgSnap) {
        const sender = this.nodes[m.from - 1]!;
        this.reportSnapshot(sender, node.id, true);
        this.afterEvent(sender);
      }
    }
  }

  /** Steps a message into the node; messages from peers it does not know are ignored. */
  private stepInto(node: SimNode, m: Message): void {
    this.core(node, "step", () => node.raw!.step(m), ["step-peer-not-found"]);
  }

  // ---- the core and its Readys ---------------------------------------------------------

  /**
   * Calls into the core. Expected refusals (the codes listed) are ignored; a broken core
   * invariant or any other exception is a violation of this run.
   */
  private core(node: SimNode, what: string, fn: () => void, expected: string[] = []): void {
    try {
      fn();
    } catch (e) {
      if (isRaftError(e) && expected.includes(e.code)) return;
      if (e instanceof SafetyViolation) throw e;
      const detail = `node ${node.id} ${what}: ${e instanceof Error ? e.message : String(e)}`;
      if (e instanceof InvariantViolation) throw new SafetyViolation("core-invariant", detail);
      throw new SafetyViolation("core-invariant", `unexpected exception: ${detail}`);
    }
  }

  private startNode(node: SimNode): void {
    // The durable state machine is at or past the stored snapshot; the core hands out
    // everything after the snapshot again, and the state machine skips what it has.
    const applied = node.storage.snapshot().metadata.index;
    const config: Config = {
      id: node.id,
      electionTick: ELECTION_TICK,
      heartbeatTick: HEARTBEAT_TICK,
      storage: node.storage,
      applied,
      maxSizePerMsg: this.maxSizePerMsg,
      maxCommittedSizePerReady: 4096,
      maxUncommittedEntriesSize: 1 << 20,
      maxInflightMsgs: 8,
      checkQuorum: this.checkQuorum,
      preVote: this.preVote,
      asyncStorageWrites: this.opts.async,
      rng: new SeededRng(this.rng.nextU32()),
      testingBugs: this.opts.testingBugs,
    };
    this.core(node, "restart", () => node.start(config));
  }

  /** After anything happened to a node: check its state, then take what it has ready. */
  private afterEvent(node: SimNode): void {
    if (!node.up) return;
    this.observe(node);
    if (this.opts.async) {
      while (node.raw!.hasReady()) this.takeReady(node);
    } else if (node.pending === undefined && node.raw!.hasReady()) {
      this.takeReady(node);
    }
  }

  private observe(node: SimNode): void {
    let st: Status | undefined;
    this.core(node, "status", () => {
      st = node.raw!.status();
    });
    const wasLeader = node.isLeader;
    const oldCommit = node.commit;
    node.isLeader = st!.role === "leader";
    node.term = st!.term;
    node.commit = st!.commit;
    this.checker.observeState(node.id, st!.term, node.isLeader, st!.commit);
    this.checkConfigAgreement(node, st!.applied);
    if (node.isLeader) this.considerNemesis(node, !wasLeader, st!.commit > oldCommit);
  }

  /**
   * Once the core has caught up with the state machine (and holds no snapshot the state
   * machine has not restored yet), its configuration is the one the applied entries
   * describe. A conf change applied out of order shows up here, not only as a stalled
   * election much later.
   */
  private checkConfigAgreement(node: SimNode, applied: number): void {
    const raw = node.raw!;
    if (applied === 0 || applied !== node.sm.index || raw.hasPendingSnapshot()) return;
    const core = raw.confState();
    const sm = node.sm.confState;
    if (sameIds(core.voters, sm.voters) && sameIds(core.learners, sm.learners)) return;
    const show = (cs: { voters: number[]; learners: number[] }): string =>
      `voters [${cs.voters.join(",")}] learners [${cs.learners.join(",")}]`;
    throw new SafetyViolation(
      "config-agreement",
      `node ${node.id} at applied ${applied}: core has ${show(core)}, applied entries give ${show(sm)}`,
    );
  }

  /**
   * Uniformly random faults rarely land in the few steps that matter most: right after a
   * leader is elected (before its first entry is replicated) and right after it commits
   * (before followers learn of it). Sometimes a fault is aimed at those moments.
   */
  private considerNemesis(leader: SimNode, elected: boolean, committed: boolean): void {
    if (this.quiet || this.nemesisTarget !== 0) return;
    const f = this.opts.faults;
    if (!f.has("crash") && !f.has("partition")) return;
    const odds = elected ? 2 : committed ? 16 : 0;
    if (odds === 0 || this.rng.intn(odds) !== 0) return;
    this.nemesisTarget = leader.id;
    this.nemesisAt = this.now + this.rng.intn(6);
  }

  private strikeNemesis(): void {
    const node = this.nodes[this.nemesisTarget - 1]!;
    this.nemesisTarget = 0;
    if (this.quiet || !node.up || !node.isLeader) return;
    const f = this.opts.faults;
    const canCrash = f.has("crash") && this.mayCrash(node);
    // May add to a partition already in place: the layered cuts heal together.
    const canCut = f.has("partition") && this.ids.length > 1;
    if (canCrash && (!canCut || this.rng.intn(2) === 0)) this.crash(node);
    else if (canCut) this.cutOff([node.id]);
  }

  private takeReady(node: SimNode): void {
    let rd: Ready | undefined;
    this.core(node, "ready", () => {
      rd = node.raw!.ready();
    });
    const ready = rd!;
    for (const rs of ready.readStates) {
      this.checker.readAnswered(node.id, readIdOf(rs.requestCtx), rs.index);
    }
    if (this.opts.async) {
      for (const m of ready.messages) {
        if (m.to === LOCAL_APPEND_THREAD) {
          this.trackHandedOut(node, m.snapshot, m.entries);
          node.appendQueue.push(m);
        } else if (m.to === LOCAL_APPLY_THREAD) {
          node.applyQueue.push(m);
        } else {
          this.send(m);
        }
      }
    } else {
      this.trackHandedOut(node, ready.snapshot, ready.entries);
      node.pending = ready;
      node.pendingPersisted = false;
    }
    if (node.isLeader) this.checker.leaderLog(node.id, node.term);
  }

  /** What the core handed out for persistence is its log now (the checker's "mem" view). */
  private trackHandedOut(node: SimNode, snap: Snapshot | undefined, entries: Entry[]): void {
    if (snap !== undefined && !isEmptySnapshot(snap)) {
      const img = decodeImage(snap.data);
      this.checker.snapshot(node.id, "mem", snap.metadata.index, snap.metadata.term, img.hash);
    }
    this.checker.append(node.id, "mem", entries);
  }

  /**
   * Hands a message to the network. Like a real transport, the sender learns when a
   * snapshot did not get through (reportSnapshot) and when a peer is cut off
   * (reportUnreachable); without that a leader would wait for a lost snapshot forever.
   */
  private send(m: Message): void {
    const outcome = this.network.send(m, this.now);
    if (outcome === "queued") return;
    const sender = this.nodes[m.from - 1]!;
    if (!sender.up) return;
    if (outcome === "blocked") {
      this.core(sender, "reportUnreachable", () => sender.raw!.reportUnreachable(m.to));
    }
    if (m.type === MessageType.MsgSnap) this.reportSnapshot(sender, m.to, false);
  }

  private reportSnapshot(sender: SimNode, to: number, ok: boolean): void {
    if (!sender.up) return;
    this.note(sender.id, `snapshot to ${to} ${ok ? "delivered" : "failed"}`);
    this.core(sender, "reportSnapshot", () => sender.raw!.reportSnapshot(to, ok));
  }

  private storageWork(node: SimNode): void {
    if (this.opts.async) {
      const m = node.appendQueue.shift()!;
      this.note(node.id, "append worker", m);
      const hs = m.term !== 0 ? { term: m.term, vote: m.vote, commit: m.commit } : undefined;
      this.persist(node, m.snapshot, m.entries, hs);
      this.deliverResponses(node, m);
    } else if (!node.pendingPersisted) {
      const rd = node.pending!;
      this.note(node.id, `persist ready (${rd.entries.length} entries)`);
      this.persist(node, rd.snapshot, rd.entries, rd.hardState);
      node.pendingPersisted = true;
      for (const m of rd.messages) this.send(m);
    } else {
      const rd = node.pending!;
      this.note(node.id, `apply ready (${rd.committedEntries.length} entries) and advance`);
      for (const e of rd.committedEntries) this.applyEntry(node, e);
      node.pending = undefined;
      this.core(node, "advance", () => node.raw!.advance(rd));
    }
    this.afterEvent(node);
  }

  /** Writes a Ready's (or a MsgStorageAppend's) content to the durable storage. */
  private persist(
    node: SimNode,
    snap: Snapshot | undefined,
    entries: Entry[],
    hs: HardState | undefined,
  ): void {
    if (snap !== undefined && !isEmptySnapshot(snap)) {
      this.core(node, "storage.applySnapshot", () => node.storage.applySnapshot(snap));
      const img = decodeImage(snap.data);
      this.checker.snapshot(node.id, "disk", snap.metadata.index, snap.metadata.term, img.hash);
      this.restoreStateMachine(node, snap);
    }
    if (entries.length > 0) {
      this.core(node, "storage.append", () => node.storage.append(entries));
      this.checker.append(node.id, "disk", entries);
    }
    if (hs !== undefined) {
      node.storage.setHardState(hs);
      this.checker.durableCommit(node.id, hs.commit);
    }
  }

  private restoreStateMachine(node: SimNode, snap: Snapshot): void {
    if (snap.metadata.index <= node.sm.index) return;
    const img = decodeImage(snap.data);
    this.checker.restored(node.id, snap.metadata.index, snap.metadata.term, img.hash);
    node.sm.restore(snap);
    this.countApplied(snap.metadata.index, undefined);
  }

  private applyWork(node: SimNode): void {
    const m = node.applyQueue.shift()!;
    this.note(node.id, "apply worker", m);
    if (m.snapshot !== undefined && !isEmptySnapshot(m.snapshot)) {
      this.restoreStateMachine(node, m.snapshot);
    }
    for (const e of m.entries) this.applyEntry(node, e);
    this.deliverResponses(node, m);
    this.afterEvent(node);
  }

  /** A local worker finished: its responses go to the node itself or out on the network. */
  private deliverResponses(node: SimNode, m: Message): void {
    for (const r of m.responses ?? []) {
      if (r.to === node.id) this.stepInto(node, r);
      else this.send(r);
    }
  }

  private applyEntry(node: SimNode, e: Entry): void {
    const cc = e.type === EntryType.ConfChange ? decodeConfChange(e.data) : undefined;
    // Every conf change the core hands out goes back to it with its index, including
    // changes the state machine already has (replayed after a restart) and older entries
    // still in the apply path when the core has accepted a newer snapshot: the core
    // ignores whatever its configuration already covers.
    if (cc !== undefined) {
      this.core(node, "applyConfChange", () => node.raw!.applyConfChange(cc, e.index));
    }
    this.checker.applied(node.id, e);
    if (e.index <= node.sm.index) return;
    node.sm.apply(e);
    if (cc !== undefined) node.sm.applyConfChange(cc);
    this.countApplied(e.index, e);
  }

  /** Counts each committed proposal once, on the first node that applies it. */
  private countApplied(index: number, e: Entry | undefined): void {
    if (index <= this.highestApplied) return;
    this.highestApplied = index;
    if (e === undefined || e.type !== EntryType.Normal || e.data.length < SEQ_BYTES) return;
    this.commits++;
    if (this.quiet && seqOf(e.data) >= this.quietFirstSeq) this.livenessMet = true;
  }

  // ---- clients ---------------------------------------------------------------------

  /** The up node that believes it leads the highest term, if any. */
  private leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes) {
      if (n.up && n.isLeader && (best === undefined || n.term > best.term)) best = n;
    }
    return best;
  }

  private randomUpNode(): SimNode | undefined {
    const up = this.nodes.filter((n) => n.up);
    return up.length === 0 ? undefined : up[this.rng.intn(up.length)];
  }

  /** Mostly the leader, sometimes any node (proposals and reads are forwarded). */
  private clientTarget(): SimNode | undefined {
    const leader = this.leader();
    if (leader !== undefined && this.rng.intn(5) !== 0) return leader;
    return this.randomUpNode();
  }

  private clientOp(): void {
    const r = this.rng.intn(100);
    if (r < 70) this.propose();
    else if (r < 88) this.read();
    else if (this.quiet) this.propose();
    else if (r < 95) this.changeMembership();
    else if (r < 98) this.transferLeadership();
    else this.forceCampaign();
  }

  private propose(): void {
    const node = this.clientTarget();
    if (node === undefined) return;
    const count = 1 + this.rng.intn(3);
    const datas: Uint8Array[] = [];
    for (let i = 0; i < count; i++) datas.push(this.payload());
    this.note(node.id, `propose ${count} (seq ${seqOf(datas[0]!)}..)`);
    const raw = node.raw!;
    if (count === 1) this.core(node, "propose", () => raw.propose(datas[0]!), PROPOSE_REFUSALS);
    else this.core(node, "proposeBatch", () => raw.proposeBatch(datas), PROPOSE_REFUSALS);
    this.afterEvent(node);
  }

  private payload(): Uint8Array {
    const data = new Uint8Array(SEQ_BYTES + this.rng.intn(40));
    new DataView(data.buffer).setUint32(0, this.nextSeq++, true);
    for (let i = SEQ_BYTES; i < data.length; i++) data[i] = this.rng.intn(256);
    return data;
  }

  private read(): void {
    const node = this.clientTarget();
    if (node === undefined) return;
    const readId = this.nextReadId++;
    const ctx = new Uint8Array(4);
    new DataView(ctx.buffer).setUint32(0, readId, true);
    this.note(node.id, `read ${readId}`);
    this.checker.readIssued(readId);
    this.core(node, "readIndex", () => node.raw!.readIndex(ctx), PROPOSE_REFUSALS);
    this.afterEvent(node);
  }

  /** A single-server change chosen from the leader's applied configuration. */
  private changeMembership(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const { voters, learners } = leader.sm.confState;
    const others = this.ids.filter((id) => !voters.includes(id) && !learners.includes(id));
    const minVoters = this.ids.length >= 4 ? 3 : Math.min(2, this.ids.length);
    const options: ConfChange[] = [];
    const cc = (type: ConfChangeType, nodeId: number): ConfChange => ({
      type,
      nodeId,
      context: new Uint8Array(0),
    });
    for (const id of others) {
      options.push(cc(ConfChangeType.AddNode, id), cc(ConfChangeType.AddLearnerNode, id));
    }
    for (const id of learners) {
      options.push(cc(ConfChangeType.AddNode, id), cc(ConfChangeType.RemoveNode, id));
    }
    if (voters.length > minVoters) {
      for (const id of voters) options.push(cc(ConfChangeType.RemoveNode, id));
    }
    if (options.length === 0) return;
    const change = options[this.rng.intn(options.length)]!;
    this.note(leader.id, `propose conf change ${confChangeName(change)}`);
    this.core(
      leader,
      "proposeConfChange",
      () => leader.raw!.proposeConfChange(change),
      PROPOSE_REFUSALS,
    );
    this.afterEvent(leader);
  }

  private transferLeadership(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const targets = leader.sm.confState.voters.filter((id) => id !== leader.id);
    if (targets.length === 0) return;
    const to = targets[this.rng.intn(targets.length)]!;
    this.note(leader.id, `transfer leadership to ${to}`);
    this.core(leader, "transferLeader", () => leader.raw!.transferLeader(to), PROPOSE_REFUSALS);
    this.afterEvent(leader);
  }

  private forceCampaign(): void {
    const node = this.randomUpNode();
    if (node === undefined) return;
    this.note(node.id, "campaign");
    this.core(node, "campaign", () => node.raw!.campaign());
    this.afterEvent(node);
  }

  // ---- faults ------------------------------------------------------------------------

  private faultOp(): void {
    if (this.quiet) return;
    const f = this.opts.faults;
    const kinds: (() => void)[] = [];
    if (f.has("partition")) kinds.push(() => this.partition());
    if (f.has("crash")) kinds.push(() => this.crashOne());
    if (kinds.length === 0) return;
    kinds[this.rng.intn(kinds.length)]!();
  }

  private partition(): void {
    if (this.network.partitioned || this.ids.length < 2) return;
    // Cutting the leader off is what forces elections; half of the partitions do that.
    const leader = this.leader();
    const side =
      leader !== undefined && this.rng.intn(2) === 0
        ? [leader.id]
        : this.ids.filter(() => this.rng.intn(2) === 0);
    if (side.length === 0 || side.length === this.ids.length) return;
    this.cutOff(side);
  }

  /** Partitions `side` from the rest, both ways or one way, until a random heal time. */
  private cutOff(side: number[]): void {
    const layered = this.network.partitioned;
    const rest = this.ids.filter((id) => !side.includes(id));
    const oneWay = this.rng.intn(2) === 0;
    for (const a of side) {
      for (const b of rest) {
        this.network.block(a, b);
        if (!oneWay) this.network.block(b, a);
      }
    }
    const healAt = this.now + 200 + this.rng.intn(3000);
    this.healAt = layered ? Math.max(this.healAt, healAt) : healAt;
    this.partitions++;
    this.note(0, `partition ${oneWay ? "one-way" : "symmetric"} [${side}] | [${rest}]`);
  }

  private downCount(): number {
    return this.nodes.filter((n) => !n.up).length;
  }

  /** At most a minority is down at once, so the run keeps making progress. */
  private maxDown(): number {
    return Math.floor((this.ids.length - 1) / 2);
  }

  private crashOne(): void {
    // Leader crashes are the interesting ones; half of the crashes hit the leader.
    const leader = this.leader();
    const node = leader !== undefined && this.rng.intn(2) === 0 ? leader : this.randomUpNode();
    if (node !== undefined && this.mayCrash(node)) this.crash(node);
  }

  /**
   * A crash may not take down a majority of the nodes, nor of the voters of the latest
   * applied configuration: the run is meant to keep committing between faults.
   */
  private mayCrash(node: SimNode): boolean {
    if (this.downCount() >= this.maxDown()) return false;
    let latest = this.nodes[0]!.sm;
    for (const n of this.nodes) if (n.sm.index > latest.index) latest = n.sm;
    const voters = latest.confState.voters;
    if (!voters.includes(node.id)) return true;
    const votersDown = voters.filter((id) => !this.nodes[id - 1]!.up).length;
    return votersDown + 1 <= Math.floor((voters.length - 1) / 2);
  }

  private crash(node: SimNode): void {
    node.crash();
    for (const lost of this.network.clearInbox(node.id)) {
      if (lost.type !== MessageType.MsgSnap) continue;
      const sender = this.nodes[lost.from - 1]!;
      this.reportSnapshot(sender, node.id, false);
      this.afterEvent(sender);
    }
    this.checker.crashed(node.id);
    node.restartAt = this.now + 100 + this.rng.intn(600);
    this.crashes++;
    this.note(node.id, "crash");
  }

  private restart(node: SimNode): void {
    this.note(node.id, "restart");
    this.startNode(node);
    this.afterEvent(node);
  }

  /** Snapshots the state machine into the storage and drops most of the log below it. */
  private compactOne(): void {
    if (!this.opts.faults.has("compact")) return;
    const node = this.randomUpNode();
    if (node === undefined) return;
    const storage = node.storage;
    const sm = node.sm;
    if (sm.index <= storage.snapshot().metadata.index) return;
    // With asyncStorageWrites the state machine may run ahead of the durable commit index;
    // a snapshot past it would leave a storage the core cannot restart from. Wait.
    if (sm.index > storage.initialState().hardState.commit) return;
    this.note(node.id, `compact at ${sm.index}`);
    // After a restart the core hands out entries the state machine already has; those must
    // stay in the log until the core has handed them out again.
    const coreApplied = node.raw!.status().applied;
    const to = Math.min(sm.index - this.rng.intn(8), coreApplied);
    this.core(node, "storage.createSnapshot", () => {
      storage.createSnapshot(sm.index, sm.confState, sm.image());
      if (to >= storage.firstIndex()) storage.compact(to);
    });
  }

  private note(node: number, what: string, msg?: Message): void {
    this.trace.add({ step: this.now, node, what, msg });
  }
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  return sa.every((id, i) => id === sb[i]);
}

/** Refusals a client sees in normal operation (no leader, transfer, pending change, ...). */
const PROPOSE_REFUSALS = ["proposal-dropped"];

function seqOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
}

function readIdOf(ctx: Uint8Array): number {
  if (ctx.length !== 4) return -1;
  return seqOf(ctx);
}

function confChangeName(cc: ConfChange): string {
  const names = ["add", "remove", "update", "add-learner"];
  return `${names[cc.type] ?? cc.type} ${cc.nodeId}`;
}

/** Runs one simulation; the options are validated by the caller. */
export function runSimulation(opts: SimOptions): SimResult {
  return new Simulator(opts).run();
}

/** The command line that reproduces a run. */
export function reproduceCommand(opts: SimOptions): string {
  const async = opts.async ? " --async" : "";
  const bugs = Object.entries(opts.testingBugs ?? {})
    .filter(([, on]) => on === true)
    .map(([name]) => ` --testing-bug ${name}`)
    .join("");
  return (
    `rafttoy-sim --seed ${opts.seed} --nodes ${opts.nodes} --steps ${opts.steps} ` +
    `--faults ${formatFaults(opts.faults)}${async}${bugs}`
  );
}
