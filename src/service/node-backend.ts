// KvBackend over one node running the Peer in service mode: writes proposed from any node
// (the core forwards them to the leader) and matched by proposal id when this node's state
// machine applies them; linearizable reads through ReadIndex, one round for every read that
// waits at a loop turn; membership changes one at a time, a joining node caught up as a
// learner before it votes.
import { randomBytes } from "node:crypto";
import type { BatchSettled } from "../peer/proposal-buffer.js";
import type { ReadState, Role, Status } from "../raft/api.js";
import { type ConfChange, ConfChangeType, type ConfState } from "../raft/types.js";
import { bytesKey } from "../raft/util.js";
import {
  BackendError,
  type ClusterInfo,
  type KvBackend,
  type KvReadView,
  type KvResult,
  type KvWrite,
  type MemberInfo,
  type ReadCallbacks,
  type ReadMode,
  type WriteCallbacks,
} from "./contract.js";
import { type PendingBatch, PendingWrites } from "./pending-writes.js";
import type { MemberAddresses, ProposalId, ServiceStateMachine } from "./state-machine.js";

/** What the backend needs from a Peer in service mode (src/peer/peer.ts). */
export interface ServicePeer {
  start(): Promise<void>;
  stop(): Promise<void>;
  submitBatch(datas: readonly Uint8Array[], settled: BatchSettled): void;
  requestReadRound(): void;
  proposeConfChange(cc: ConfChange): void;
  confState(): ConfState;
  leadership(): { lead: number; role: Role };
  status(): Status;
}

/** The hooks the Peer calls back (PeerOptions.service). */
export interface ServiceHooks {
  bootstrap: boolean;
  takeReadRound(): Uint8Array | undefined;
  onReadStates(states: readonly ReadState[]): void;
  onProgress(): void;
  onConfChange(cc: ConfChange): void;
}

export interface NodeBackendOptions {
  id: number;
  /** Builds this node's Peer with the backend's hooks as its service mode (called once). */
  createPeer(hooks: ServiceHooks): ServicePeer;
  /** Bootstrap the initial members when the storage is empty; false when joining. */
  bootstrap: boolean;
  stateMachine: ServiceStateMachine;
  /** The state machine's applied index (everything at or below it is in its view). */
  appliedIndex(): number;
  /** This node's own addresses, recorded in the cluster's member metadata once it runs. */
  self: MemberAddresses & { raft: string };
  /** Tells the transport where member `id`'s Raft endpoint is (a join, a changed address). */
  learnAddress(id: number, raft: string): void;
  /** The Raft addresses known at start (--peers), for cluster(). */
  peers?: ReadonlyMap<number, string>;
  /** Followers answer writes with BackendError("moved") instead of forwarding them. */
  redirect?: boolean;
  /** The Peer's tick and election timeout, from which the bounds below derive. */
  tickMs: number;
  electionTicks: number;
  /** How long a write may wait for its result before "timeout"; default 10 s. */
  writeTimeoutMs?: number;
  /** How long a linearizable read may wait before "timeout"; default 10 s. */
  readTimeoutMs?: number;
  /** How long a join may take, caught up and promoted, before "timeout"; default 120 s. */
  joinTimeoutMs?: number;
  log?: (line: string) => void;
}

interface ReadWaiter {
  to: ReadCallbacks;
  sinceMs: number;
}

interface ReadRound {
  waiters: ReadWaiter[];
  startedMs: number;
  /** The leader when the round was asked for: a round outlives no change of leader. */
  leader: number;
  /** The commit index the leader answered; the reads resolve once it is applied. */
  index?: number;
}

const utf8 = new TextEncoder();

/** Hands a read its view; a front-end's callback that throws must not stop the Peer's turn. */
function answer(w: ReadWaiter, view: KvReadView): void {
  try {
    w.to.view(view);
  } catch (err) {
    fail(w, err);
  }
}

function fail(w: ReadWaiter, err: unknown): void {
  try {
    w.to.fail(err);
  } catch {
    // Nothing more can be told to a reader whose own callbacks fail.
  }
}

/** Proposal failures that mean "not handed to any leader": safe to hand over again. */
const RETRYABLE = new Set(["no leader", "leader transfer in progress", "not a member"]);

export class NodeBackend implements KvBackend {
  readonly id: number;
  private readonly opts: NodeBackendOptions;
  private readonly sm: ServiceStateMachine;
  private readonly peer: ServicePeer;
  private readonly electionMs: number;
  /** "no-leader" is answered after at most this long without a leader. */
  private readonly noLeaderMs: number;
  private readonly readTimeoutMs: number;
  private readonly log: (line: string) => void;

  private nextProposal: ProposalId;
  /** Every member's Raft address this node knows of, its own included. */
  private readonly raftAddresses = new Map<number, string>();
  private readonly pending: PendingWrites;
  /** The leader this node knew at its last loop turn (writes handed to another are orphans). */
  private knownLeader = 0;
  private appliedSeen = 0;
  private waitingReads: ReadWaiter[] = [];
  private readRoundRequested = false;
  private readonly rounds = new Map<string, ReadRound>();
  /** The round asked for and not yet answered with an index: at most one at a time. */
  private unanswered: ReadRound | null = null;
  private readCounter = 0;
  private leaderWaiters: (() => void)[] = [];
  private changeChain: Promise<unknown> = Promise.resolve();
  private housekeeping: NodeJS.Timeout | undefined;
  private announcing = false;
  private started = false;
  private stopped = false;

  constructor(opts: NodeBackendOptions) {
    this.opts = opts;
    this.id = opts.id;
    this.sm = opts.stateMachine;
    this.log = opts.log ?? (() => {});
    this.electionMs = opts.tickMs * opts.electionTicks;
    this.noLeaderMs = 2 * this.electionMs;
    // A write whose leader was replaced waits about as long as an election takes, then
    // its caller hears that its outcome is unknown (pending-writes.ts).
    this.pending = new PendingWrites(opts.writeTimeoutMs ?? 10_000, this.noLeaderMs);
    this.readTimeoutMs = opts.readTimeoutMs ?? 10_000;
    // Ids start at a random point, so that neither another node nor an earlier life of this
    // one (whose proposals may still be in the log) hands out the same ids.
    this.nextProposal = randomBytes(6).readUIntBE(0, 6) * 16;
    this.sm.onApplied((id, index, result) => this.onApplied(id, index, result));
    this.sm.onMember((member, addresses) => {
      if (addresses.raft !== undefined) this.learnRaft(member, addresses.raft);
    });
    for (const [id, raft] of opts.peers ?? []) this.raftAddresses.set(id, raft);
    this.raftAddresses.set(this.id, opts.self.raft);
    for (const [member, addresses] of this.sm.members()) {
      if (addresses.raft !== undefined) this.learnRaft(member, addresses.raft);
    }
    this.peer = opts.createPeer({
      bootstrap: opts.bootstrap,
      takeReadRound: () => this.takeReadRound(),
      onReadStates: (states) => this.onReadStates(states),
      onProgress: () => this.onProgress(),
      onConfChange: (cc) => {
        // A member added at run time names its Raft address in the change's context, so
        // every node (a later leader too) can reach it.
        if (
          cc.type !== ConfChangeType.RemoveNode &&
          cc.nodeId !== this.id &&
          cc.context.length > 0
        ) {
          this.learnRaft(cc.nodeId, new TextDecoder().decode(cc.context));
        }
      },
    });
  }

  /** Starts the Peer, then serves; announces this node's addresses once a leader is known. */
  async start(): Promise<void> {
    await this.peer.start();
    this.started = true;
    // Not unref'd: a running backend keeps its process alive, and bounds its reads' waits.
    this.housekeeping = setInterval(() => this.housekeep(), Math.max(5, this.opts.tickMs));
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.housekeeping !== undefined) clearInterval(this.housekeeping);
    const err = new BackendError("unavailable", "the node is stopping");
    const waiters = [...this.allReadWaiters()];
    this.waitingReads = [];
    this.rounds.clear();
    this.unanswered = null;
    for (const w of waiters) fail(w, err);
    this.pending.rejectAll(err);
    this.wakeLeaderWaiters();
    await this.peer.stop();
  }

  // ---- writes ---------------------------------------------------------------------------

  async write(write: KvWrite): Promise<KvResult> {
    const [result] = await this.writeBatch([write]);
    return result!;
  }

  writeBatch(writes: readonly KvWrite[]): Promise<KvResult[]> {
    return new Promise((done, fail) => this.writeBatchWith(writes, { done, fail }));
  }

  writeBatchWith(writes: readonly KvWrite[], to: WriteCallbacks): void {
    if (writes.length === 0) {
      to.done([]);
      return;
    }
    try {
      this.checkOpen();
    } catch (err) {
      to.fail(err);
      return;
    }
    // With a leader known (the usual case) nothing is awaited before the proposal, and the
    // batch costs one pair of callbacks however many writes it holds: a request's own
    // promises and closures were most of the backend's cost per command.
    const { lead } = this.peer.leadership();
    if (lead === 0) {
      this.leaderForWrites().then(() => this.proposeWrites(writes, to), to.fail);
      return;
    }
    if (this.opts.redirect === true && lead !== this.id) {
      to.fail(this.moved(lead));
      return;
    }
    this.proposeWrites(writes, to);
  }

  /** Proposes `writes` (one entry each, one batch); `to` hears their results. */
  private proposeWrites(writes: readonly KvWrite[], to: WriteCallbacks): void {
    const n = writes.length;
    const ids = new Array<ProposalId>(n);
    const datas = new Array<Uint8Array>(n);
    for (let i = 0; i < n; i++) {
      const id = this.newProposalId();
      ids[i] = id;
      datas[i] = this.sm.encodeWrite(id, writes[i]!);
    }
    this.proposeEncoded(ids, datas, to);
  }

  /** Proposes commands (one entry each, one batch) and resolves with their results. */
  private propose(encoders: readonly ((id: ProposalId) => Uint8Array)[]): Promise<KvResult[]> {
    const ids = encoders.map(() => this.newProposalId());
    const datas = encoders.map((encode, i) => encode(ids[i]!));
    return new Promise((done, fail) => this.proposeEncoded(ids, datas, { done, fail }));
  }

  /** Waits for the results of `ids` (their commands encoded as `datas`) for `to`, and hands them over. */
  private proposeEncoded(ids: ProposalId[], datas: Uint8Array[], to: WriteCallbacks): void {
    const now = Date.now();
    const batch = this.pending.add(ids, now, to);
    // Settled by the state machine's report, by housekeep() at the deadline, or failed here.
    this.handOver(batch, datas, now + this.noLeaderMs);
  }

  /**
   * Hands `datas` to the core; what it refuses for want of a leader is handed over again
   * once one is known (it was never proposed, so this cannot apply a write twice). Any
   * other refusal, or no leader before `deadline`, fails the batch.
   */
  private handOver(batch: PendingBatch, datas: readonly Uint8Array[], deadline: number): void {
    this.peer.submitBatch(datas, (refused, err) => {
      // Handed over (all, or some of them): writes here wait for the leader they went to.
      if (refused.length < datas.length) this.pending.handedTo(batch, this.peer.leadership().lead);
      if (refused.length === 0) return;
      const reason = (err as { reason?: string } | undefined)?.reason ?? String(err);
      if (!RETRYABLE.has(reason)) {
        this.pending.fail(
          batch,
          new BackendError("unavailable", `the node cannot propose: ${reason}`),
        );
        return;
      }
      const left = deadline - Date.now();
      const again = refused.map((i) => datas[i]!);
      const retry = (ok: boolean) => {
        if (ok) this.handOver(batch, again, deadline);
        else this.pending.fail(batch, this.noLeader());
      };
      if (left <= 0) retry(false);
      else this.waitForLeader(left).then(retry);
    });
  }

  /** Waits (bounded) for a leader; in redirect mode a follower answers "moved". */
  private async leaderForWrites(): Promise<void> {
    if (!(await this.waitForLeader(this.noLeaderMs))) throw this.noLeader();
    const { lead } = this.peer.leadership();
    if (this.opts.redirect === true && lead !== this.id) throw this.moved(lead);
  }

  private onApplied(id: ProposalId, index: number, result: KvResult): void {
    if (index > this.appliedSeen) this.appliedSeen = index;
    this.pending.settle(id, result);
  }

  private learnRaft(member: number, raft: string): void {
    if (member === this.id || this.raftAddresses.get(member) === raft) return;
    this.raftAddresses.set(member, raft);
    this.opts.learnAddress(member, raft);
  }

  private newProposalId(): ProposalId {
    const id = this.nextProposal;
    this.nextProposal = id + 1 >= Number.MAX_SAFE_INTEGER ? 0 : id + 1;
    return id;
  }

  // ---- reads ----------------------------------------------------------------------------

  read(mode: ReadMode): Promise<KvReadView> {
    return new Promise<KvReadView>((view, fail) => this.readWith(mode, { view, fail }));
  }

  readWith(mode: ReadMode, to: ReadCallbacks): void {
    try {
      this.checkOpen();
    } catch (err) {
      to.fail(err);
      return;
    }
    if (mode === "stale") {
      to.view(this.sm.view());
      return;
    }
    this.waitingReads.push({ to, sinceMs: Date.now() });
    this.askForReadRound();
  }

  /**
   * Asks the Peer for a round for the waiting reads, unless one is out unanswered: the reads
   * that arrive meanwhile wait for it to be answered and share the next one. A round's
   * heartbeats cost the leader one message per follower and each follower a turn, so rounds
   * are sent at most one per round trip instead of one per loop turn (each read still waits
   * for a round asked for after it arrived: ReadIndex as before, with fewer rounds). A
   * round unanswered for a tick (lost with a message on the way) no longer holds the next.
   */
  private askForReadRound(): void {
    if (this.readRoundRequested || this.waitingReads.length === 0) return;
    const out = this.unanswered;
    if (out !== null && Date.now() - out.startedMs < this.opts.tickMs) return;
    // Without a leader the core would drop the request: wait for one (housekeep retries).
    if (this.peer.leadership().lead === 0) return;
    this.readRoundRequested = true;
    this.peer.requestReadRound();
  }

  /** Called by the Peer's loop: every read waiting now shares one ReadIndex round. */
  private takeReadRound(): Uint8Array | undefined {
    this.readRoundRequested = false;
    if (this.waitingReads.length === 0) return undefined;
    const ctx = new Uint8Array(8);
    new DataView(ctx.buffer).setFloat64(0, ++this.readCounter);
    const round: ReadRound = {
      waiters: this.waitingReads,
      startedMs: Date.now(),
      leader: this.peer.leadership().lead,
    };
    this.rounds.set(bytesKey(ctx), round);
    this.unanswered = round;
    this.waitingReads = [];
    return ctx;
  }

  private onReadStates(states: readonly ReadState[]): void {
    for (const s of states) {
      const round = this.rounds.get(bytesKey(s.requestCtx));
      if (round !== undefined && round.index === undefined) {
        round.index = s.index;
        if (this.unanswered === round) this.unanswered = null;
      }
    }
    this.resolveReads();
    this.askForReadRound();
  }

  /** Puts a round's reads back in the queue for a new round (reads are safe to repeat). */
  private retryRound(key: string, round: ReadRound): void {
    this.rounds.delete(key);
    if (this.unanswered === round) this.unanswered = null;
    this.waitingReads.push(...round.waiters);
  }

  /** Resolves the rounds whose read index this node has applied. */
  private resolveReads(): void {
    if (this.rounds.size === 0) return;
    const applied = Math.max(this.opts.appliedIndex(), this.appliedSeen);
    for (const [key, round] of this.rounds) {
      if (round.index === undefined || round.index > applied) continue;
      this.rounds.delete(key);
      const view = this.sm.view();
      for (const w of round.waiters) answer(w, view);
    }
  }

  private *allReadWaiters(): Iterable<ReadWaiter> {
    yield* this.waitingReads;
    for (const r of this.rounds.values()) yield* r.waiters;
  }

  // ---- the Peer's progress and the housekeeping timer -----------------------------------

  private onProgress(): void {
    this.resolveReads();
    const lead = this.peer.leadership().lead;
    if (lead !== this.knownLeader) {
      this.knownLeader = lead;
      if (this.pending.size > 0) this.pending.leaderIs(lead, Date.now());
      // A round the old leader did not answer never will be: ask the new one at once.
      for (const [key, round] of this.rounds) {
        if (round.index === undefined && round.leader !== lead) this.retryRound(key, round);
      }
    }
    if (lead !== 0) {
      this.wakeLeaderWaiters();
      this.askForReadRound();
    }
  }

  private housekeep(): void {
    if (this.stopped) return;
    const now = Date.now();
    const lead = this.peer.leadership().lead;
    // One timer for every write rather than one each.
    this.pending.expire(now);
    // A round the leader never answered (it lost leadership, or the request was dropped on
    // the way) is asked again: reads are safe to repeat.
    for (const [key, round] of this.rounds) {
      if (round.index !== undefined || now - round.startedMs < this.electionMs) continue;
      this.retryRound(key, round);
    }
    const keep: ReadWaiter[] = [];
    const expired: [ReadWaiter, BackendError][] = [];
    for (const w of this.waitingReads) {
      const age = now - w.sinceMs;
      if (lead === 0 && age >= this.noLeaderMs) expired.push([w, this.noLeader()]);
      else if (age >= this.readTimeoutMs) {
        const err = new BackendError("timeout", `no read index within ${this.readTimeoutMs} ms`);
        expired.push([w, err]);
      } else keep.push(w);
    }
    this.waitingReads = keep;
    for (const [w, err] of expired) fail(w, err);
    this.askForReadRound();
    if (lead !== 0) this.announceSelf();
  }

  /** Records this node's addresses in the member metadata when they are missing or stale. */
  private announceSelf(): void {
    if (this.announcing || !this.isMember()) return;
    const known = this.sm.members().get(this.id);
    const self = this.opts.self;
    if (
      known !== undefined &&
      // A state machine that keeps no Raft addresses leaves that field out.
      (known.raft === undefined || known.raft === self.raft) &&
      known.resp === self.resp &&
      known.http === self.http
    ) {
      return;
    }
    this.announcing = true;
    this.propose([(id) => this.sm.encodeMember(id, this.id, self)])
      .catch((err: unknown) => {
        this.log(`node ${this.id}: announcing its addresses failed (will retry): ${String(err)}`);
      })
      .finally(() => {
        this.announcing = false;
      });
  }

  private waitForLeader(ms: number): Promise<boolean> {
    if (this.peer.leadership().lead !== 0) return Promise.resolve(true);
    if (this.stopped) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const i = this.leaderWaiters.indexOf(wake);
        if (i >= 0) this.leaderWaiters.splice(i, 1);
        resolve(this.peer.leadership().lead !== 0);
      }, ms);
      const wake = () => {
        clearTimeout(timer);
        resolve(!this.stopped && this.peer.leadership().lead !== 0);
      };
      this.leaderWaiters.push(wake);
    });
  }

  private wakeLeaderWaiters(): void {
    if (this.leaderWaiters.length === 0) return;
    const waiters = this.leaderWaiters;
    this.leaderWaiters = [];
    for (const w of waiters) w();
  }

  // ---- membership -----------------------------------------------------------------------

  join(member: { id: number; raft: string; resp?: string; http?: string }): Promise<void> {
    const { id, raft } = member;
    if (!Number.isSafeInteger(id) || id <= 0) {
      return Promise.reject(
        new BackendError("bad-request", `member id must be a positive integer, got ${id}`),
      );
    }
    if (raft === "")
      return Promise.reject(new BackendError("bad-request", "member raft address is empty"));
    return this.oneChangeAtATime(async () => {
      this.requireLeader();
      const addresses: MemberAddresses = { raft };
      if (member.resp !== undefined) addresses.resp = member.resp;
      if (member.http !== undefined) addresses.http = member.http;
      const deadline = Date.now() + (this.opts.joinTimeoutMs ?? 120_000);
      this.learnRaft(id, raft);
      // Addresses first, so that every node can reach the new member once it counts.
      await this.propose([(pid) => this.sm.encodeMember(pid, id, addresses)]);
      if (this.peer.confState().voters.includes(id)) return;
      this.log(`node ${this.id}: adding node ${id} (${raft}) as a learner`);
      await this.changeConf(
        ConfChangeType.AddLearnerNode,
        id,
        (cs) => cs.learners.includes(id),
        deadline,
        utf8.encode(raft),
      );
      await this.caughtUp(id, deadline);
      this.log(`node ${this.id}: node ${id} caught up: promoting it to voter`);
      await this.changeConf(
        ConfChangeType.AddNode,
        id,
        (cs) => cs.voters.includes(id),
        deadline,
        utf8.encode(raft),
      );
    });
  }

  remove(id: number): Promise<void> {
    return this.oneChangeAtATime(async () => {
      const cs = this.peer.confState();
      if (!cs.voters.includes(id) && !cs.learners.includes(id)) {
        throw new BackendError("bad-request", `node ${id} is not a member`);
      }
      this.requireLeader();
      const deadline = Date.now() + (this.opts.joinTimeoutMs ?? 120_000);
      this.log(`node ${this.id}: removing node ${id}`);
      await this.changeConf(
        ConfChangeType.RemoveNode,
        id,
        (c) => !c.voters.includes(id) && !c.learners.includes(id),
        deadline,
      );
    });
  }

  private oneChangeAtATime(change: () => Promise<void>): Promise<void> {
    try {
      this.checkOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.changeChain.then(change, change);
    this.changeChain = run.catch(() => {});
    return run;
  }

  /** Proposes the change until the configuration shows it applied (a proposal may be dropped). */
  private async changeConf(
    type: ConfChangeType,
    nodeId: number,
    done: (cs: ConfState) => boolean,
    deadline: number,
    /** For an added member, its Raft address: every node learns it as the change applies. */
    context: Uint8Array = new Uint8Array(0),
  ): Promise<void> {
    while (!done(this.peer.confState())) {
      this.checkOpen();
      if (Date.now() >= deadline) {
        throw new BackendError(
          "timeout",
          `membership change for node ${nodeId} did not apply in time`,
        );
      }
      this.requireLeader();
      this.peer.proposeConfChange({ type, nodeId, context });
      await this.until(
        () => done(this.peer.confState()),
        Math.min(this.electionMs * 2, deadline - Date.now()),
      );
    }
  }

  /** Waits until the learner's log matches what was committed when the wait began. */
  private async caughtUp(id: number, deadline: number): Promise<void> {
    const target = this.peer.status().commit;
    const caught = () => {
      const pr = this.peer.status().progress.get(id);
      return pr !== undefined && pr.match >= target;
    };
    // Only a leader tracks the learner's progress: after losing leadership the wait would
    // last until the deadline, so it ends then and the caller is told who leads now.
    const ok = await this.until(
      () => caught() || this.peer.leadership().role !== "leader",
      deadline - Date.now(),
    );
    if (!ok || !caught()) {
      this.checkOpen();
      this.requireLeader();
      throw new BackendError("timeout", `node ${id} did not catch up in time; it stays a learner`);
    }
  }

  /** Polls `cond` every tick until it holds (true) or `ms` passes (false). */
  private async until(cond: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!cond()) {
      if (this.stopped || Date.now() >= deadline) return cond();
      await new Promise((resolve) => setTimeout(resolve, Math.max(5, this.opts.tickMs)));
    }
    return true;
  }

  private requireLeader(): void {
    const { lead } = this.peer.leadership();
    if (lead === this.id) return;
    if (lead === 0) throw this.noLeader();
    throw this.moved(lead, "membership changes are made on the leader");
  }

  // ---- status ---------------------------------------------------------------------------

  cluster(): ClusterInfo {
    const st = this.peer.status();
    const cs = this.peer.confState();
    const applied = Math.max(this.opts.appliedIndex(), this.appliedSeen);
    const known = this.sm.members();
    const members: MemberInfo[] = [];
    const add = (id: number, role: MemberInfo["role"]) => {
      const a = known.get(id) ?? (id === this.id ? this.opts.self : undefined);
      const m: MemberInfo = { id, raft: this.raftAddresses.get(id) ?? a?.raft ?? "", role };
      if (a?.resp !== undefined) m.resp = a.resp;
      if (a?.http !== undefined) m.http = a.http;
      const appliedIndex = id === this.id ? applied : st.progress.get(id)?.match;
      if (appliedIndex !== undefined) m.appliedIndex = appliedIndex;
      members.push(m);
    };
    for (const id of cs.voters) add(id, "voter");
    for (const id of cs.learners) add(id, "learner");
    members.sort((a, b) => a.id - b.id);
    // Leader and role as the loop last handed them over, the view healthy() and the write
    // and read paths act on: the core's own fields change within a turn, before its Ready is
    // handled, so reading them here could report "no leader" while this node still serves.
    const { lead, role } = this.peer.leadership();
    return {
      id: this.id,
      role: cs.learners.includes(this.id) ? "learner" : role,
      leader: lead,
      term: st.term,
      commitIndex: st.commit,
      appliedIndex: applied,
      members,
    };
  }

  healthy(): boolean {
    return this.started && !this.stopped && this.peer.leadership().lead !== 0;
  }

  // ---- errors ---------------------------------------------------------------------------

  private isMember(): boolean {
    const cs = this.peer.confState();
    return cs.voters.includes(this.id) || cs.learners.includes(this.id);
  }

  private checkOpen(): void {
    if (!this.started || this.stopped) {
      throw new BackendError(
        "unavailable",
        this.stopped ? "the node is stopping" : "the node is starting",
      );
    }
  }

  private noLeader(): BackendError {
    return new BackendError("no-leader", `no leader known within ${this.noLeaderMs} ms`);
  }

  private moved(lead: number, why = "this node is a follower"): BackendError {
    const a = this.sm.members().get(lead);
    const leader: { id: number; resp?: string; http?: string } = { id: lead };
    if (a?.resp !== undefined) leader.resp = a.resp;
    if (a?.http !== undefined) leader.http = a.http;
    return new BackendError("moved", `${why}: the leader is node ${lead}`, leader);
  }
}
