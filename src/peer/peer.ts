// The Peer: one member of the Raft group. It owns the RawNode and its storage, routes incoming
// batches (dropping older test epochs, resetting on newer ones), ticks on a timer, turns
// concurrent proposals into one proposeBatch per loop turn, tracks proposals until they are
// acknowledged, and runs the loop that hands each Ready to the pipeline.
//
// The loop is the only code that touches the RawNode's mutable side. In the synchronous
// pipelines it awaits handleReady() before asking for the next Ready, so two Readys are never
// in flight; asynchronous work (background applies, async-storage writes) reaches the node
// only through stepLocal(), which queues messages for the next turn.

import {
  APPEND_BATCH_SIZE,
  APPEND_LATENCY,
  APPLY_BATCH_SIZE,
  APPLY_LATENCY,
  createMetrics,
  type Metrics,
  PIPELINE_ITERATION_LATENCY,
  PROPOSAL_LATENCY,
  TRANSPORT_BATCH_MESSAGES,
} from "../metrics/index.js";
import type { ComponentProbes } from "../metrics/probes.js";
import type { Pipeline, PipelineHost, PipelineMetrics, Recorder } from "../pipeline/pipeline.js";
import { pipelineSpec } from "../pipeline/registry.js";
import { type Config, LOCAL_APPEND_THREAD, type Ready, type Role } from "../raft/api.js";
import { isRaftError } from "../raft/errors.js";
import { SeededRng } from "../raft/rng.js";
import { type Entry, isEmptySnapshot, type Message, MessageType } from "../raft/types.js";
import type { Epoch, InboundBatch, Transport } from "../transport/transport.js";
import { CatchUpReporter } from "./catch-up.js";
import {
  type CompactEvery,
  type CompactionStats,
  Compactor,
  DEFAULT_COMPACT_EVERY,
} from "./compaction.js";
import type { PeerNode, PeerStorage, RaftBinding } from "./contracts.js";
import { compareEpoch, type EpochStore, formatEpoch, memoryEpochStore, NO_EPOCH } from "./epoch.js";
import { ProposalBuffer, rejectTaken, type TakenProposals } from "./proposal-buffer.js";
import { ProposalError, ProposalTracker } from "./proposal-tracker.js";

export interface PeerOptions {
  id: number;
  /** Every member's id, this one included. */
  peerIds: readonly number[];
  transport: Transport;
  storage: PeerStorage;
  raft: RaftBinding;
  /** A pipeline name from src/pipeline/registry.ts. */
  pipeline: string;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  metrics?: Metrics;
  /** Always-on component latencies for the benchmark's speed-of-light floor. */
  probes?: ComponentProbes;
  /**
   * Set in the leader process: it owns the test epoch, starts it at `start` (process start,
   * ms) and never adopts another's. Unset in followers, which follow the newest epoch seen.
   */
  epochOwner?: { start: number };
  /**
   * Whether this node starts elections on its own after an election timeout. Default: only
   * the epoch owner does. A follower that campaigned could win an epoch while its link back
   * to the owner is still reconnecting, and then hold it with the other follower's votes
   * against the owner for good; a follower that only votes leaves every epoch to its owner.
   */
  campaignOnElectionTimeout?: boolean;
  /** Where a follower remembers the epoch of its durable state. */
  epochStore?: EpochStore;
  /** Upper bound on the entry bytes of one MsgApp. */
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  /** Proposals buffered between two loop turns before propose() waits. */
  proposalBufferSize?: number;
  /** Proposals appended but not yet acknowledged before the loop stops taking more. */
  maxInflightProposals?: number;
  /** Proposals taken into one proposeBatch; smaller batches keep several in flight. */
  maxProposalsPerTurn?: number;
  /**
   * Hold a leader's entry-less MsgApp (it only carries a new commit index) for one loop
   * turn, and drop it if the next turn sends that follower entries anyway (they carry the
   * commit too). Saves a message and its response per follower per batch under load;
   * followers learn the commit one turn later. Default on.
   */
  coalesceCommitAppends?: boolean;
  /** When to compact the log behind the applied index (compaction.ts); default 50k entries. */
  compactEvery?: CompactEvery;
  /** Seeds the core's election-timeout randomness (mixed with the node id). */
  seed?: number;
  log?: (line: string) => void;
  /** A write failed or an invariant broke: the node cannot go on. Default: log it. */
  onFatal?: (err: unknown) => void;
}

/** One life of the Raft state within one test epoch. */
interface Incarnation {
  readonly epoch: Epoch;
  readonly node: PeerNode;
  pipeline: Pipeline;
  live: boolean;
  /** Entry-less MsgApps held back, by destination, with the turn that produced them. */
  held: Map<number, { m: Message; turn: number }>;
  role: Role;
  lead: number;
}

export class Peer {
  readonly id: number;
  private readonly opts: PeerOptions;
  private readonly metrics: Metrics;
  private readonly probes: ComponentProbes | undefined;
  private readonly pipelineMetrics: PipelineMetrics;
  private readonly iterationLatency: Recorder;
  private readonly batchMessages: Recorder;
  private readonly log: (line: string) => void;
  private readonly buffer: ProposalBuffer;
  private readonly tracker: ProposalTracker;
  private readonly epochStore: EpochStore;
  private readonly maxInflightProposals: number;
  private readonly maxProposalsPerTurn: number;
  private readonly tickMs: number;
  private readonly electionTicks: number;

  private epoch: Epoch = { start: 0, iteration: 0 };
  private inc!: Incarnation;
  private inbound: Message[][] = [];
  private local: Message[][] = [];
  private unreachable: number[] = [];
  private pendingTicks = 0;
  private campaignRequested = false;
  private resetTo: Epoch | undefined;
  private resetWaiters: (() => void)[] = [];
  private wakeUp: (() => void) | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private loopDone: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private failure: unknown;
  private droppedOldEpochBatches = 0;
  /**
   * A follower restarted without the log of the epoch it was in (a mem WAL): it must not
   * answer in that epoch (the leader believes it holds entries it lost, and its votes are
   * forgotten), so it ignores the epoch and joins the next one as an empty node.
   */
  private sittingOut = false;
  private readonly catchUp: CatchUpReporter;
  private readonly compactor: Compactor;
  private turns = 0;
  private readonly coalesce: boolean;
  private readonly countPerDest = new Map<number, number>();

  constructor(opts: PeerOptions) {
    if (!opts.peerIds.includes(opts.id)) {
      throw new Error(`peer id ${opts.id} is not among the peers ${opts.peerIds.join(",")}`);
    }
    pipelineSpec(opts.pipeline); // an unknown name fails here, listing the names
    this.opts = opts;
    this.id = opts.id;
    this.metrics = opts.metrics ?? createMetrics(false);
    const m = this.metrics;
    this.probes = opts.probes;
    // Every pipeline records an append's latency only for appends with entries, and those
    // are always synced (Ready.mustSync), so the append recorder is the durable-append probe.
    this.pipelineMetrics = {
      appendBatchSize: m.histogram(APPEND_BATCH_SIZE),
      appendLatencyNs: tee(m.histogram(APPEND_LATENCY), opts.probes?.durableAppendNs),
      applyBatchSize: m.histogram(APPLY_BATCH_SIZE),
      applyLatencyNs: tee(m.histogram(APPLY_LATENCY), opts.probes?.applyNs),
    };
    this.iterationLatency = m.histogram(PIPELINE_ITERATION_LATENCY);
    this.batchMessages = m.histogram(TRANSPORT_BATCH_MESSAGES);
    const proposalLatency = m.histogram(PROPOSAL_LATENCY);
    this.log = opts.log ?? (() => {});
    this.tickMs = opts.tickMs ?? 100;
    this.electionTicks = opts.electionTicks ?? 10;
    this.maxInflightProposals = opts.maxInflightProposals ?? 65536;
    this.maxProposalsPerTurn = opts.maxProposalsPerTurn ?? 8192;
    this.coalesce = opts.coalesceCommitAppends ?? true;
    this.epochStore = opts.epochStore ?? memoryEpochStore();
    this.buffer = new ProposalBuffer(
      opts.proposalBufferSize ?? 16384,
      () => this.signal(),
      m.enabled,
    );
    this.catchUp = new CatchUpReporter(opts.id);
    this.compactor = new Compactor(opts.storage, opts.compactEvery ?? DEFAULT_COMPACT_EVERY);
    this.tracker = new ProposalTracker(4096, (startMs) =>
      proposalLatency.record(Math.round((performance.now() - startMs) * 1e6)),
    );
  }

  /** Opens the Raft state (restarted from storage or bootstrapped), then serves. */
  async start(): Promise<void> {
    const storage = this.opts.storage;
    let fresh: boolean;
    if (this.opts.epochOwner !== undefined) {
      // A leader process always begins a new epoch on a clean state.
      this.epoch = { start: this.opts.epochOwner.start, iteration: 0 };
      await storage.reset();
      fresh = true;
    } else {
      this.epoch = await this.epochStore.load();
      fresh = storage.lastIndex() === 0;
      // A durable engine beside a log that was not durable: start both over.
      if (fresh && storage.appliedIndex() > 0) await storage.reset();
      this.sittingOut = fresh && compareEpoch(this.epoch, NO_EPOCH) !== 0;
    }
    this.inc = this.createIncarnation(this.epoch, fresh);
    this.opts.transport.onUnreachable((id) => {
      this.unreachable.push(id);
      this.signal();
    });
    await this.opts.transport.start((b) => this.onBatch(b));
    this.ticker = setInterval(() => {
      this.pendingTicks++;
      this.signal();
    }, this.tickMs);
    this.ticker.unref();
    this.loopDone = this.loop();
    this.log(
      this.sittingOut
        ? `peer ${this.id}: its log of epoch ${formatEpoch(this.epoch)} did not survive the restart (${storage.description}): sitting that epoch out, joining the leader's next one as an empty node`
        : `peer ${this.id}: ${fresh ? "bootstrapped" : `restarted at index ${storage.lastIndex()}`} in epoch ${formatEpoch(this.epoch)}, pipeline ${this.opts.pipeline}`,
    );
  }

  /** Proposes `data`; resolves once acknowledged (applied, or committed with early-ack). */
  propose(data: Uint8Array): Promise<void> {
    if (this.inc === undefined || this.inc.role !== "leader") {
      return Promise.reject(new ProposalError("not leader"));
    }
    return this.buffer.propose(data);
  }

  isLeader(): boolean {
    return this.inc !== undefined && this.inc.role === "leader";
  }

  currentEpoch(): Epoch {
    return this.epoch;
  }

  /** Asks the node to campaign at the loop's next turn. */
  campaign(): void {
    this.campaignRequested = true;
    this.signal();
  }

  /** Campaigns until this node leads; rejects after `timeoutMs`. */
  async campaignUntilLeader(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const retryMs = Math.max(50, this.tickMs * this.electionTicks * 2);
    while (!this.isLeader()) {
      this.throwIfFailed();
      if (Date.now() > deadline) {
        throw new Error(
          `peer ${this.id} did not become leader within ${timeoutMs} ms: are the other peers running and reachable?`,
        );
      }
      this.campaign();
      await this.waitFor(() => this.isLeader(), Math.min(retryMs, deadline - Date.now()));
    }
  }

  /** Resolves once every follower's log matches the leader's and all of it is committed. */
  async waitForAllCaughtUp(timeoutMs = 30_000): Promise<void> {
    const ok = await this.waitFor(() => this.allCaughtUp(), timeoutMs);
    if (!ok) {
      throw new Error(
        `followers did not catch up within ${timeoutMs} ms: are the other peers running and reachable?`,
      );
    }
  }

  /**
   * Leader only: starts the next test epoch. Pending proposals are rejected, the local Raft
   * state is wiped and bootstrapped again; followers reset when the new epoch reaches them.
   */
  async newEpoch(): Promise<Epoch> {
    if (this.opts.epochOwner === undefined) throw new Error("only the epoch owner starts epochs");
    const next = { start: this.epoch.start, iteration: this.epoch.iteration + 1 };
    this.adoptEpoch(next);
    await new Promise<void>((resolve) => {
      this.resetWaiters.push(resolve);
      this.signal();
    });
    this.throwIfFailed();
    return next;
  }

  /** Counters for results and tests. */
  stats(): {
    epoch: Epoch;
    droppedOldEpochBatches: number;
    inflightProposals: number;
    compaction: CompactionStats;
  } {
    return {
      compaction: this.compactor.stats(),
      epoch: this.epoch,
      droppedOldEpochBatches: this.droppedOldEpochBatches,
      inflightProposals: this.tracker.size,
    };
  }

  /** The core's status (term, commit, applied, and per-peer progress on the leader). */
  status(): ReturnType<PeerNode["status"]> {
    return this.inc.node.status();
  }

  /** Stops the loop, finishes background work, rejects what is left, closes everything. */
  stop(): Promise<void> {
    if (this.stopped === undefined) this.stopped = this.doStop();
    return this.stopped;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.buffer.rejectAll("stopped", true);
    this.signal();
    if (this.loopDone !== undefined) await this.loopDone;
    if (this.inc !== undefined) {
      this.inc.live = false;
      await this.inc.pipeline.drain().catch(() => {});
    }
    this.tracker.rejectAll("stopped");
    for (const w of this.resetWaiters.splice(0)) w();
    await this.opts.transport.stop();
    await this.compactor.idle();
    await this.opts.storage.close();
  }

  // ---- incoming -------------------------------------------------------------------------

  private onBatch(b: InboundBatch): void {
    const c = compareEpoch(b.epoch, this.epoch);
    if (c < 0 || (c > 0 && this.opts.epochOwner !== undefined) || (c === 0 && this.sittingOut)) {
      this.droppedOldEpochBatches++;
      return;
    }
    if (this.probes !== undefined && c === 0 && this.inc.role === "leader") {
      this.probeAcks(this.probes, b.messages);
    }
    if (c > 0) {
      this.sittingOut = false;
      this.log(`peer ${this.id}: new test epoch ${formatEpoch(b.epoch)}: resetting Raft state`);
      this.adoptEpoch(b.epoch);
    }
    this.inbound.push(b.messages);
    this.signal();
  }

  /** Switches to `e`: messages of the old epoch still queued are dropped; the loop resets. */
  private adoptEpoch(e: Epoch): void {
    this.epoch = e;
    this.inbound = [];
    this.resetTo = e;
  }

  // ---- the loop -------------------------------------------------------------------------

  private signal(): void {
    const wake = this.wakeUp;
    if (wake !== undefined) {
      this.wakeUp = undefined;
      wake();
    }
  }

  private hasWork(): boolean {
    return (
      this.resetTo !== undefined ||
      this.pendingTicks > 0 ||
      this.inbound.length > 0 ||
      this.local.length > 0 ||
      this.unreachable.length > 0 ||
      this.campaignRequested ||
      (this.buffer.length > 0 && this.proposalsWelcome()) ||
      this.inc.node.hasReady()
    );
  }

  private async loop(): Promise<void> {
    try {
      while (!this.stopping) {
        if (!this.hasWork()) {
          this.flushHeld(this.inc, Number.POSITIVE_INFINITY);
          await new Promise<void>((resolve) => {
            this.wakeUp = resolve;
          });
          continue;
        }
        await this.turn();
        await this.compactor.afterTurn(() => this.inc.node.status());
        // Let I/O callbacks (incoming batches, timers) run between turns: they carry the
        // responses that commit entries, and the proposals that make the next batch bigger.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.fatal(err);
    }
  }

  private async turn(): Promise<void> {
    this.turns++;
    if (this.resetTo !== undefined) await this.reset();
    const inc = this.inc;
    const node = inc.node;
    const ticked = this.pendingTicks > 0;
    for (; this.pendingTicks > 0; this.pendingTicks--) node.tick();
    if (this.unreachable.length > 0) {
      for (const id of this.unreachable.splice(0)) node.reportUnreachable(id);
    }
    if (this.local.length > 0) {
      const local = this.local;
      this.local = [];
      for (const batch of local) this.stepAll(node, batch);
    }
    if (this.inbound.length > 0) {
      const inbound = this.inbound;
      this.inbound = [];
      for (const batch of inbound) this.stepAll(node, batch);
    }
    if (ticked && inc.role === "leader") {
      for (const line of this.catchUp.observe(performance.now(), node.status())) {
        this.log(`leader ${this.id}: ${line}`);
      }
    }
    if (this.campaignRequested) {
      this.campaignRequested = false;
      node.campaign();
    }
    let proposed: TakenProposals | undefined;
    if (this.buffer.length > 0 && this.proposalsWelcome()) {
      const taken = this.buffer.take(
        Math.min(this.maxProposalsPerTurn, this.maxInflightProposals - this.tracker.size),
      );
      if (inc.role !== "leader") {
        rejectTaken(taken, new ProposalError("not leader"));
      } else {
        try {
          node.proposeBatch(taken.datas);
          proposed = taken;
        } catch (err) {
          if (!isRaftError(err)) throw err;
          rejectTaken(taken, new ProposalError(err.reason || err.code));
        }
      }
    }
    if (!node.hasReady()) {
      if (proposed !== undefined) rejectTaken(proposed, new ProposalError("not appended"));
      return;
    }
    const start = performance.now();
    const rd = node.ready();
    if (rd.softState !== undefined) this.onSoftState(inc, rd.softState.role, rd.softState.lead);
    const appended = appendedEntries(rd);
    if (proposed !== undefined) this.trackProposals(appended, proposed);
    if (!isEmptySnapshot(rd.snapshot)) this.compactor.reset();
    this.compactor.noteAppended(appended);
    await inc.pipeline.handleReady(rd);
    this.iterationLatency.record(Math.round((performance.now() - start) * 1e6));
    this.flushHeld(inc, this.turns);
  }

  /** Sends the held commit-only MsgApps produced before turn `before`. */
  private flushHeld(inc: Incarnation, before: number): void {
    if (inc.held.size === 0) return;
    const out: Message[] = [];
    for (const [to, h] of inc.held) {
      if (h.turn >= before) continue;
      out.push(h.m);
      inc.held.delete(to);
    }
    if (out.length > 0) this.transmit(inc, out);
  }

  private transmit(inc: Incarnation, messages: readonly Message[]): void {
    if (this.metrics.enabled) this.recordBatchSizes(messages);
    if (this.probes !== undefined && inc.role === "leader") this.probeSends(this.probes, messages);
    this.opts.transport.send(inc.epoch, messages);
  }

  /** Sends `messages`, holding back or dropping commit-only MsgApps (coalesceCommitAppends). */
  private send(inc: Incarnation, messages: readonly Message[]): void {
    if (!this.coalesce || inc.role !== "leader") {
      this.transmit(inc, messages);
      return;
    }
    let out: Message[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.type === MessageType.MsgApp) {
        if (m.entries.length === 0) {
          // A later commit-only append supersedes an earlier one.
          inc.held.set(m.to, { m, turn: this.turns });
          out ??= messages.slice(0, i);
          continue;
        }
        // Entries carry the commit index too: the held one has nothing left to say.
        inc.held.delete(m.to);
      }
      out?.push(m);
    }
    const toSend = out ?? messages;
    if (toSend.length > 0) this.transmit(inc, toSend);
  }

  private proposalsWelcome(): boolean {
    return this.tracker.size < this.maxInflightProposals;
  }

  private stepAll(node: PeerNode, msgs: readonly Message[]): void {
    for (let i = 0; i < msgs.length; i++) {
      try {
        node.step(msgs[i]!);
      } catch (err) {
        // An expected refusal (a message from an unknown peer, say) is not fatal.
        if (!isRaftError(err)) throw err;
      }
    }
  }

  private onSoftState(inc: Incarnation, role: Role, lead: number): void {
    const wasLeader = inc.role === "leader";
    inc.role = role;
    inc.lead = lead;
    if (wasLeader && role !== "leader") {
      this.log(`peer ${this.id}: lost leadership (now ${role}, leader ${lead})`);
      this.tracker.rejectAll("leadership lost");
      this.buffer.rejectAll("leadership lost");
    } else if (!wasLeader && role === "leader") {
      this.catchUp.reset();
      this.log(`peer ${this.id}: became leader`);
    }
  }

  /**
   * The batch just proposed is the tail of the entries this Ready asks to append: nothing
   * else is appended between proposeBatch() and ready() in one turn.
   */
  private trackProposals(entries: readonly Entry[], taken: TakenProposals): void {
    const n = taken.datas.length;
    const last = entries[entries.length - 1];
    if (entries.length < n || last === undefined || last.data !== taken.datas[n - 1]) {
      rejectTaken(taken, new ProposalError("not found in the appended entries"));
      return;
    }
    const first = entries[entries.length - n]!;
    const { resolves, rejects, startMs } = taken;
    const measured = startMs.length === n;
    for (let k = 0; k < n; k++) {
      this.tracker.track(
        first.index + k,
        first.term,
        resolves[k]!,
        rejects[k]!,
        measured ? startMs[k] : 0,
      );
    }
  }

  private async reset(): Promise<void> {
    const target = this.resetTo!;
    this.resetTo = undefined;
    const old = this.inc;
    old.live = false;
    await old.pipeline.drain();
    this.tracker.rejectAll("epoch reset");
    this.buffer.rejectAll("epoch reset");
    this.local = [];
    await this.compactor.idle();
    this.compactor.reset();
    await this.opts.storage.reset();
    this.inc = this.createIncarnation(target, true);
    // Only now that the wiped state is durable may the new epoch be recorded.
    if (this.opts.epochOwner === undefined) await this.epochStore.save(target);
    // A still newer epoch may have arrived meanwhile: the next turn resets again.
    if (this.resetTo === undefined) {
      for (const w of this.resetWaiters.splice(0)) w();
    }
  }

  private createIncarnation(epoch: Epoch, fresh: boolean): Incarnation {
    const opts = this.opts;
    const spec = pipelineSpec(opts.pipeline);
    const config: Config = {
      id: opts.id,
      electionTick: this.electionTicks,
      heartbeatTick: opts.heartbeatTicks ?? 1,
      storage: opts.storage.logView(),
      applied: fresh ? 0 : opts.storage.appliedIndex(),
      maxSizePerMsg: opts.maxSizePerMsg ?? 1 << 20,
      maxCommittedSizePerReady: 64 << 20,
      maxUncommittedEntriesSize: 0,
      maxInflightMsgs: opts.maxInflightMsgs ?? 256,
      checkQuorum: true,
      preVote: true,
      campaignOnElectionTimeout: opts.campaignOnElectionTimeout ?? opts.epochOwner !== undefined,
      disableProposalForwarding: true,
      asyncStorageWrites: spec.asyncStorageWrites,
      rng: new SeededRng(((opts.seed ?? Date.now()) ^ Math.imul(opts.id, 0x9e3779b1)) >>> 0),
    };
    const node = opts.raft.createNode(config);
    if (fresh) node.bootstrap([...opts.peerIds]);
    const inc: Incarnation = {
      epoch,
      node,
      pipeline: undefined as unknown as Pipeline,
      live: true,
      held: new Map(),
      role: "follower",
      lead: 0,
    };
    inc.pipeline = spec.create(this.makeHost(inc));
    return inc;
  }

  private makeHost(inc: Incarnation): PipelineHost {
    const storage = this.opts.storage;
    const tracker = this.tracker;
    const raft = this.opts.raft;
    return {
      id: this.id,
      node: inc.node,
      storage,
      metrics: this.pipelineMetrics,
      send: (messages) => {
        // A stale incarnation's late sends would carry the wrong epoch's state.
        if (!inc.live || messages.length === 0) return;
        this.send(inc, messages);
      },
      stepLocal: (messages) => {
        if (!inc.live) return;
        this.local.push(messages as Message[]);
        this.signal();
      },
      appliedIndex: () => storage.appliedIndex(),
      readLog: (lo, hi) =>
        lo >= hi ? [] : storage.logView().entries(lo, hi, Number.POSITIVE_INFINITY),
      isLeader: () => inc.role === "leader",
      ack: (committed: readonly Entry[]) => {
        if (!inc.live) return;
        tracker.ack(committed);
        // Room for more proposals may have opened up while the loop was idle.
        if (this.buffer.length > 0) this.signal();
      },
      applyConfChange: async (entry: Entry) => {
        const cs = inc.node.applyConfChange(raft.decodeConfChange(entry.data), entry.index);
        await storage.setConfState(cs);
      },
      fail: (err) => this.fatal(err),
    };
  }

  /** Replication round trips start when a MsgApp with entries leaves... */
  private probeSends(probes: ComponentProbes, messages: readonly Message[]): void {
    const now = performance.now();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const n = m.entries.length;
      if (m.type === MessageType.MsgApp && n > 0)
        probes.appendSent(m.to, m.entries[n - 1]!.index, now);
    }
  }

  /** ... and end when its MsgAppResp arrives, timed on arrival rather than when stepped. */
  private probeAcks(probes: ComponentProbes, messages: readonly Message[]): void {
    const now = performance.now();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.type === MessageType.MsgAppResp && !m.reject) probes.appendAcked(m.from, m.index, now);
    }
  }

  private recordBatchSizes(messages: readonly Message[]): void {
    const counts = this.countPerDest;
    for (let i = 0; i < messages.length; i++) {
      const to = messages[i]!.to;
      counts.set(to, (counts.get(to) ?? 0) + 1);
    }
    for (const n of counts.values()) this.batchMessages.record(n);
    counts.clear();
  }

  private fatal(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err ?? new Error("unknown failure");
    this.stopping = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    const reason = "node failed";
    this.buffer.rejectAll(reason, true);
    this.tracker.rejectAll(reason);
    for (const w of this.resetWaiters.splice(0)) w();
    this.signal();
    const onFatal =
      this.opts.onFatal ??
      ((e: unknown) => this.log(`peer ${this.id}: fatal: ${e instanceof Error ? e.stack : e}`));
    onFatal(err);
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) {
      const f = this.failure;
      throw f instanceof Error ? f : new Error(String(f));
    }
  }

  private allCaughtUp(): boolean {
    if (!this.isLeader()) return false;
    const st = this.inc.node.status();
    const self = st.progress.get(this.id);
    if (self === undefined || st.commit < self.match) return false;
    for (const id of this.opts.peerIds) {
      const p = st.progress.get(id);
      if (p === undefined || p.match !== self.match) return false;
    }
    return true;
  }

  /** Polls `cond` every few ms until it holds (true) or `timeoutMs` passes (false). */
  private async waitFor(cond: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.failure !== undefined || this.stopping || Date.now() >= deadline) return cond();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return true;
  }
}

/** A recorder that records into `also` too, when there is one. */
function tee(first: Recorder, also: { recordValue(v: number): void } | undefined): Recorder {
  if (also === undefined) return first;
  return {
    record(value: number): void {
      first.record(value);
      // biome-ignore lint/complexity/useMathMinMax: Math.max(NaN, 0) is NaN; this maps NaN to 0 too.
      also.recordValue(value >= 0 ? value : 0);
    },
  };
}

/** The entries a Ready asks to append: Ready.entries, or in async mode the local append's. */
export function appendedEntries(rd: Ready): readonly Entry[] {
  if (rd.entries.length > 0) return rd.entries;
  for (const m of rd.messages) {
    if (m.to === LOCAL_APPEND_THREAD && m.entries.length > 0) return m.entries;
  }
  return rd.entries;
}
