// The Peer: one member of the Raft group, and the scheduler of its work. It routes incoming
// batches, ticks on a timer, turns concurrent proposals into one proposeBatch per loop turn,
// and runs the loop that hands each Ready to the pipeline. What differs between a benchmark
// node and a key-value service node is its mode (mode.ts: test-epoch-mode.ts, service-mode.ts).
// The pieces it schedules live beside it: the incarnation and its pipeline host
// (incarnation.ts), commit coalescing (commit-coalescer.ts), proposal matching
// (proposal-matching.ts), leader waiting (leader-wait.ts), metrics and probes (instruments.ts),
// compaction (compaction.ts); every bound is in limits.ts, and time and timers come from the
// injected Scheduler (clock.ts).
//
// The loop is the only code that touches the RawNode's mutable side. In the synchronous
// pipelines it awaits handleReady() before asking for the next Ready, so two Readys are never
// in flight; asynchronous work (background applies, async-storage writes) reaches the node
// only through stepLocal(), which queues messages for the next turn.

import { createMetrics } from "../metrics/index.js";
import type { Role } from "../raft/api.js";
import { type ConfChange, type ConfState, isEmptySnapshot } from "../raft/types.js";
import type { Epoch, InboundBatch } from "../transport/transport.js";
import { CatchUpReporter } from "./catch-up.js";
import { every, nextTurn, realScheduler, type Scheduler } from "./clock.js";
import { Compactor, DEFAULT_COMPACT_EVERY } from "./compaction.js";
import type { PeerNode } from "./contracts.js";
import { memoryEpochStore } from "./epoch.js";
import { Inbox } from "./inbox.js";
import { createIncarnation, type Incarnation } from "./incarnation.js";
import { PeerInstruments } from "./instruments.js";
import { campaignUntilLeader, type WaitTarget, waitForAllCaughtUp } from "./leader-wait.js";
import * as limits from "./limits.js";
import type { PeerMode } from "./mode.js";
import { Outbox } from "./outbox.js";
import {
  checkPeerOptions,
  type PeerOptions,
  type PeerStats,
  type ResolvedPeerOptions,
  resolvePeerOptions,
} from "./peer-options.js";
import { type BatchSettled, ProposalBuffer, rejectTaken } from "./proposal-buffer.js";
import { appendedEntries, trackProposals } from "./proposal-matching.js";
import { ProposalError, ProposalTracker } from "./proposal-tracker.js";
import { ServicePeerMode } from "./service-mode.js";
import { TestEpochMode } from "./test-epoch-mode.js";

export type { PeerOptions, PeerStats } from "./peer-options.js";
export { appendedEntries } from "./proposal-matching.js";

export class Peer {
  readonly id: number;
  private readonly opts: PeerOptions;
  private readonly sched: Scheduler;
  private readonly instruments: PeerInstruments;
  private readonly log: (line: string) => void;
  private readonly buffer: ProposalBuffer;
  private readonly tracker: ProposalTracker;
  /** Benchmark (test epochs) or key-value service: all that differs between the two. */
  private readonly mode: PeerMode;
  private readonly r: ResolvedPeerOptions;
  private readonly outbox: Outbox;
  private readonly waitTarget: WaitTarget;

  private inc!: Incarnation;
  private readonly inbox = new Inbox(() => this.signal());
  private wakeUp: (() => void) | undefined;
  private stopTicker: (() => void) | undefined;
  private loopDone: Promise<void> | undefined;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private failure: unknown;
  private readonly catchUp: CatchUpReporter;
  private readonly compactor: Compactor;
  private turns = 0;

  constructor(opts: PeerOptions) {
    const spec = checkPeerOptions(opts);
    this.opts = opts;
    this.id = opts.id;
    const sched = opts.scheduler ?? realScheduler;
    this.sched = sched;
    const metrics = opts.metrics ?? createMetrics(false);
    this.instruments = new PeerInstruments(metrics, opts.probes, sched);
    this.log = opts.log ?? (() => {});
    const r = resolvePeerOptions(opts, sched);
    this.r = r;
    this.outbox = new Outbox(opts.transport, this.instruments, r.coalesceCommitAppends);
    const wake = () => this.signal();
    this.mode =
      opts.service !== undefined
        ? new ServicePeerMode(opts.id, opts.service, spec, wake)
        : new TestEpochMode(opts.id, opts.epochStore ?? memoryEpochStore(), opts.epochOwner, {
            clearInbound: () => this.inbox.clearInbound(),
            received: (messages) => this.instruments.received(this.inc.role === "leader", messages),
            log: this.log,
            wake,
          });
    this.buffer = new ProposalBuffer(
      r.proposalBufferSize,
      () => this.signal(),
      metrics.enabled ? sched : undefined,
    );
    this.catchUp = new CatchUpReporter(opts.id);
    this.compactor = new Compactor(opts.storage, opts.compactEvery ?? DEFAULT_COMPACT_EVERY);
    this.tracker = new ProposalTracker(limits.TRACKER_INITIAL_CAPACITY, (startMs) =>
      this.instruments.proposalAcked(startMs),
    );
    this.waitTarget = {
      id: this.id,
      peerIds: opts.peerIds,
      isLeader: () => this.isLeader(),
      campaign: () => this.campaign(),
      status: () => this.status(),
      throwIfFailed: () => this.throwIfFailed(),
      givenUp: () => this.failure !== undefined || this.stopping,
    };
  }

  /** Opens the Raft state (restarted from storage or bootstrapped), then serves. */
  async start(): Promise<void> {
    const storage = this.opts.storage;
    const opened = await this.mode.open(storage);
    this.inc = this.newIncarnation(opened.epoch, opened.fresh);
    this.opts.transport.onUnreachable((id) => this.inbox.unreachableReported(id));
    this.opts.transport.onDisconnected?.((id) => this.inbox.disconnectReported(id));
    await this.opts.transport.start((b) => this.onBatch(b));
    this.stopTicker = every(this.sched, this.r.tickMs, () => this.inbox.tick());
    this.loopDone = this.loop();
    this.log(this.mode.startedLine(opened, storage, this.opts.pipeline));
  }

  /** Proposes `data`; resolves once acknowledged (applied, or committed with early-ack). */
  propose(data: Uint8Array): Promise<void> {
    if (this.inc === undefined || this.inc.role !== "leader") {
      return Promise.reject(new ProposalError("not leader", "not-leader"));
    }
    return this.buffer.propose(data);
  }

  /**
   * Service mode: hands proposals to the core at the loop's next turn, all of one call in one
   * batch; on a follower the core forwards them to the leader. `settled` is called once every
   * one of `datas` has been handed over or refused (ProposalError("no leader") when the core
   * knows none), with the positions refused (empty: all handed over) and the last refusal.
   * No promise per proposal: they were most of a write's cost on the service's hot path.
   * Handed over is no promise of a commit: the caller matches its proposals when they apply.
   */
  submitBatch(datas: readonly Uint8Array[], settled: BatchSettled): void {
    this.buffer.proposeBatch(datas, settled);
  }

  /**
   * Service mode: asks for one ReadIndex round at the loop's next turn, whose context is
   * taken then from ServiceMode.takeReadRound (every read that arrived meanwhile shares it);
   * the answer comes through ServiceMode.onReadStates.
   */
  requestReadRound(): void {
    this.mode.requestReadRound();
  }

  /** Service mode: proposes a membership change at the loop's next turn (may be dropped). */
  proposeConfChange(cc: ConfChange): void {
    this.mode.proposeConfChange(cc);
  }

  /** The membership the core has in force. */
  confState(): ConfState {
    return this.inc.node.confState();
  }

  /** The leader this node knows of (0: none), and its own role. */
  leadership(): { lead: number; role: Role } {
    return { lead: this.inc.lead, role: this.inc.role };
  }

  isLeader(): boolean {
    return this.inc !== undefined && this.inc.role === "leader";
  }

  currentEpoch(): Epoch {
    return this.mode.epoch;
  }

  /** Asks the node to campaign at the loop's next turn. */
  campaign(): void {
    this.inbox.requestCampaign();
  }

  /** Campaigns until this node leads; rejects after `timeoutMs`. */
  campaignUntilLeader(timeoutMs = limits.DEFAULT_LEADER_WAIT_MS): Promise<void> {
    const electionTimeoutMs = this.r.tickMs * this.r.electionTicks;
    return campaignUntilLeader(this.waitTarget, this.sched, electionTimeoutMs, timeoutMs);
  }

  /** Resolves once every follower's log matches the leader's and all of it is committed. */
  waitForAllCaughtUp(timeoutMs = limits.DEFAULT_LEADER_WAIT_MS): Promise<void> {
    return waitForAllCaughtUp(this.waitTarget, this.sched, timeoutMs);
  }

  /**
   * Leader only: starts the next test epoch. Pending proposals are rejected, the local Raft
   * state is wiped and bootstrapped again; followers reset when the new epoch reaches them.
   */
  async newEpoch(): Promise<Epoch> {
    const next = await this.mode.next();
    this.throwIfFailed();
    return next;
  }

  stats(): PeerStats {
    return {
      compaction: this.compactor.stats(),
      epoch: this.mode.epoch,
      droppedOldEpochBatches: this.mode.droppedOldEpochBatches,
      droppedInboundBatches: this.inbox.droppedInboundBatches,
      inflightProposals: this.tracker.size,
      bufferedProposals: this.buffer.length,
      queuedInbound: this.inbox.queuedInbound,
      queuedLocal: this.inbox.queuedLocal,
      heldCommitAppends: this.inc === undefined ? 0 : this.inc.coalescer.size,
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
    this.stopTicker?.();
    this.buffer.rejectAll("stopped", true);
    this.signal();
    if (this.loopDone !== undefined) await this.loopDone;
    if (this.inc !== undefined) {
      this.inc.live = false;
      await this.inc.pipeline.drain().catch(() => {});
    }
    this.tracker.rejectAll("stopped");
    this.mode.releaseWaiters();
    await this.opts.transport.stop();
    await this.compactor.idle();
    await this.opts.storage.close();
  }

  // ---- incoming -------------------------------------------------------------------------

  private onBatch(b: InboundBatch): void {
    if (this.mode.admit(b)) this.inbox.received(b.messages);
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
      this.mode.hasWork ||
      this.inbox.hasWork ||
      (this.buffer.length > 0 && this.proposalsWelcome()) ||
      this.inc.node.hasReady()
    );
  }

  private async loop(): Promise<void> {
    try {
      // Whether I/O callbacks have run since the last turn.
      let ioRan = true;
      while (!this.stopping) {
        if (!this.hasWork()) {
          this.outbox.flushHeld(this.inc, Number.POSITIVE_INFINITY);
          await new Promise<void>((resolve) => {
            this.wakeUp = resolve;
          });
          if (this.mode.gathersBeforeTurn) await nextTurn(this.sched);
          ioRan = true;
          continue;
        }
        const bufferedBefore = this.buffer.length;
        await this.turn();
        await this.compactor.afterTurn(() => this.inc.node.status());
        // Nothing left to do: the wait at the top lets I/O run; a hop first would cost one
        // more event-loop pass (a poll syscall) per message at low load.
        if (!this.hasWork()) continue;
        // Proposers answered by this turn's acknowledgements proposed again during it. At one
        // proposal in flight that proposal is the whole critical path: its turn follows at
        // once, before the hop reads (and steps) the other follower's answer, which commits
        // nothing. Never twice in a row, so I/O runs between any two turns but these.
        if (ioRan && bufferedBefore === 0 && this.buffer.length > 0) {
          ioRan = false;
          continue;
        }
        // Let I/O callbacks (incoming batches, timers) run between turns: they carry the
        // responses that commit entries, and the proposals that make the next batch bigger.
        await nextTurn(this.sched);
        ioRan = true;
      }
    } catch (err) {
      this.fatal(err);
    }
  }

  private async turn(): Promise<void> {
    this.turns++;
    const resetTo = this.mode.takeReset();
    if (resetTo !== undefined) await this.reset(resetTo);
    const inc = this.inc;
    const node = inc.node;
    const { ticked, campaign } = this.inbox.deliver(node);
    if (ticked && inc.role === "leader") {
      for (const line of this.catchUp.observe(this.sched.now(), node.status())) {
        this.log(`leader ${this.id}: ${line}`);
      }
    }
    if (campaign) node.campaign();
    const room = this.r.maxInflightProposals - this.tracker.size;
    const proposed = this.mode.propose(inc, this.buffer, this.r.maxProposalsPerTurn, room);
    if (!node.hasReady()) {
      if (proposed !== undefined) rejectTaken(proposed, new ProposalError("not appended"));
      this.mode.onProgress();
      return;
    }
    const start = this.sched.now();
    const rd = node.ready();
    if (rd.softState !== undefined) this.onSoftState(inc, rd.softState.role, rd.softState.lead);
    this.mode.onReadStates(rd.readStates);
    const appended = appendedEntries(rd);
    if (proposed !== undefined) trackProposals(this.tracker, appended, proposed);
    if (!isEmptySnapshot(rd.snapshot)) this.compactor.reset();
    this.compactor.noteAppended(appended);
    await inc.pipeline.handleReady(rd);
    this.instruments.iterationDone(start);
    this.outbox.flushHeld(inc, this.turns);
    this.mode.onProgress();
  }

  private proposalsWelcome(): boolean {
    return this.tracker.size < this.r.maxInflightProposals;
  }

  private onSoftState(inc: Incarnation, role: Incarnation["role"], lead: number): void {
    const wasLeader = inc.role === "leader";
    inc.role = role;
    inc.lead = lead;
    if (wasLeader && role !== "leader") {
      this.log(`peer ${this.id}: lost leadership (now ${role}, leader ${lead})`);
      this.tracker.rejectAll("leadership lost");
      if (!this.mode.keepsBufferOnLostLeadership) this.buffer.rejectAll("leadership lost");
    } else if (!wasLeader && role === "leader") {
      this.catchUp.reset();
      this.log(`peer ${this.id}: became leader`);
    }
  }

  private async reset(target: Epoch): Promise<void> {
    const old = this.inc;
    old.live = false;
    await old.pipeline.drain();
    this.tracker.rejectAll("epoch reset");
    this.buffer.rejectAll("epoch reset");
    this.inbox.clearLocal();
    await this.compactor.idle();
    this.compactor.reset();
    await this.opts.storage.reset();
    this.inc = this.newIncarnation(target, true);
    await this.mode.resetDone(target);
  }

  private newIncarnation(epoch: Epoch, fresh: boolean): Incarnation {
    return createIncarnation(
      this.r.incarnation,
      {
        metrics: this.instruments.pipeline,
        send: (inc, messages) => this.outbox.send(inc, messages, this.turns),
        stepLocal: (messages) => {
          try {
            this.inbox.stepLocal(messages);
          } catch (err) {
            this.fatal(err);
          }
        },
        ack: (committed) => {
          this.tracker.ack(committed);
          // Room for more proposals may have opened up while the loop was idle.
          if (this.buffer.length > 0) this.signal();
          this.mode.onProgress();
        },
        fail: (err) => this.fatal(err),
        confChangeApplied: (cc) => this.mode.confChangeApplied(cc),
      },
      epoch,
      fresh,
    );
  }

  private fatal(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err ?? new Error("unknown failure");
    this.stopping = true;
    this.stopTicker?.();
    const reason = "node failed";
    this.buffer.rejectAll(reason, true);
    this.tracker.rejectAll(reason);
    this.mode.releaseWaiters();
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
}
