// The Raft state machine: elections (with pre-vote and check-quorum), replication with flow
// control, commitment, snapshots, membership changes, leadership transfer and ReadIndex.
// Pure and deterministic: it reacts to `step` and `tick` by changing state and queueing
// messages; RawNode turns that into Ready structs. No I/O, no clock, randomness from config.
import type { Config, Logger, ReadState, Role, SoftState, TestingBugs } from "./api.js";
import {
  applyToTracker,
  confChangeProblem,
  decodeConfChange,
  restoreTracker,
} from "./confchange.js";
import { validateConfig } from "./config.js";
import { invariant, RaftError } from "./errors.js";
import { RaftLog } from "./log.js";
import type { Progress } from "./progress.js";
import { ReadOnly } from "./read-only.js";
import type { Rng } from "./rng.js";
import { ProgressTracker } from "./tracker.js";
import {
  assertSafeIndex,
  type ConfChange,
  ConfChangeType,
  type ConfState,
  EMPTY_BYTES,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  MessageType,
  makeMessage,
  messageTypeName,
  NONE,
  type Snapshot,
} from "./types.js";
import { entriesSize } from "./util.js";

/**
 * How far apart, in election timeouts, the survivors of a leader whose connection broke
 * start their campaigns (leaderDisconnected): far longer than a pre-vote and vote round on
 * a loaded machine (tens of ms), so the first one normally wins before the next one starts.
 */
const LEADER_LOST_STAGGER = 0.3;

/** Context of a MsgVote sent on a leadership transfer: voters must not refuse it for lease. */
const TRANSFER_CONTEXT = new TextEncoder().encode("transfer");

function isTransferContext(ctx: Uint8Array): boolean {
  if (ctx.byteLength !== TRANSFER_CONTEXT.byteLength) return false;
  for (let i = 0; i < ctx.byteLength; i++) if (ctx[i] !== TRANSFER_CONTEXT[i]) return false;
  return true;
}

type CampaignKind = "pre-election" | "election" | "transfer";

function voteRespType(t: MessageType): MessageType {
  return t === MessageType.MsgVote ? MessageType.MsgVoteResp : MessageType.MsgPreVoteResp;
}

export class Raft {
  readonly id: number;
  term = 0;
  vote = NONE;
  lead = NONE;
  role: Role = "follower";
  /** Whether this node is a learner in the current configuration. */
  isLearner = false;
  readonly raftLog: RaftLog;
  trk: ProgressTracker;
  readStates: ReadState[] = [];
  /** Messages that may be sent right away. */
  msgs: Message[] = [];
  /** Messages that may be sent only once the current unstable state is durable. */
  msgsAfterAppend: Message[] = [];

  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private randomizedElectionTimeout = 0;
  readonly checkQuorum: boolean;
  readonly preVote: boolean;
  private readonly campaignOnElectionTimeout: boolean;
  private readonly disableProposalForwarding: boolean;
  readonly maxMsgSize: number;
  private readonly maxUncommittedSize: number;
  private readonly tracksUncommittedSize: boolean;
  private readonly tracksInflightBytes: boolean;
  leadTransferee = NONE;
  /** Log index of the newest conf change that may not be applied yet; one at a time. */
  pendingConfIndex = 0;
  /**
   * Log index the configuration in force is known to cover: the last conf change applied
   * with its index, or the snapshot the configuration was restored from. Conf changes at or
   * below it are already reflected and are ignored (see applyConfChange). Starts at 0: the
   * core hands out only entries after the stored snapshot and after config.applied, and
   * the application replays the conf changes among them.
   */
  confIndex = 0;
  /** Payload bytes of the leader's uncommitted tail (an estimate that never overcounts). */
  uncommittedSize = 0;
  private readOnly = new ReadOnly();
  /** Reads that arrived before this leader committed an entry of its own term. */
  private pendingReadIndexMessages: Message[] = [];
  private readonly rng: Rng;
  private readonly logger: Logger | undefined;
  private readonly bugs: TestingBugs;

  constructor(c: Config) {
    const s = validateConfig(c);
    this.id = s.id;
    this.electionTimeout = s.electionTick;
    this.heartbeatTimeout = s.heartbeatTick;
    this.checkQuorum = s.checkQuorum;
    this.preVote = s.preVote;
    this.campaignOnElectionTimeout = s.campaignOnElectionTimeout;
    this.disableProposalForwarding = s.disableProposalForwarding;
    this.maxMsgSize = s.maxSizePerMsg;
    this.maxUncommittedSize = s.maxUncommittedSize;
    this.tracksUncommittedSize = s.maxUncommittedSize !== Number.POSITIVE_INFINITY;
    this.tracksInflightBytes = s.maxInflightBytes !== 0;
    this.rng = c.rng;
    this.logger = c.logger;
    this.bugs = c.testingBugs ?? {};
    this.raftLog = new RaftLog(c.storage, s.maxCommittedSizePerReady);
    this.trk = new ProgressTracker(s.maxInflightMsgs, s.maxInflightBytes);

    const { hardState, confState } = c.storage.initialState();
    assertSafeIndex(hardState.term, "hardState.term");
    assertSafeIndex(hardState.vote, "hardState.vote");
    assertSafeIndex(hardState.commit, "hardState.commit");
    this.switchToConfig(confState);
    if (hardState.term !== 0 || hardState.vote !== NONE || hardState.commit !== 0) {
      this.loadState(hardState);
    }
    if (c.applied !== undefined && c.applied > 0) {
      // With asynchronous writes an apply can become durable before the hard state that
      // carried its commit index. Applied entries were committed, so commit catches up.
      invariant(
        c.applied <= this.raftLog.lastIndex(),
        "applied-within-log",
        () =>
          `config.applied ${c.applied} is beyond the stored log (last index ${this.raftLog.lastIndex()})`,
      );
      if (c.applied > this.raftLog.committed) this.raftLog.commitTo(c.applied);
      this.raftLog.appliedTo(c.applied, 0);
    }
    this.becomeFollower(this.term, NONE);
  }

  private log(msg: () => string): void {
    if (this.logger !== undefined) this.logger.info(`raft ${this.id}: ${msg()}`);
  }

  private warn(msg: () => string): void {
    if (this.logger !== undefined) this.logger.warn(`raft ${this.id}: ${msg()}`);
  }

  private loadState(hs: HardState): void {
    invariant(
      hs.commit >= this.raftLog.committed && hs.commit <= this.raftLog.lastIndex(),
      "stored-commit-in-log",
      () =>
        `stored commit ${hs.commit} outside [${this.raftLog.committed}, ${this.raftLog.lastIndex()}]`,
    );
    this.raftLog.committed = hs.commit;
    this.term = hs.term;
    this.vote = hs.vote;
  }

  softState(): SoftState {
    return { lead: this.lead, role: this.role };
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.raftLog.committed };
  }

  // ---------------------------------------------------------------- sending

  /**
   * Queues `m`. Votes and append acknowledgements wait for durability (msgsAfterAppend);
   * everything else may leave at once. Term is stamped here except on votes (which carry
   * their own) and on proposals and reads (forwarded as if local).
   */
  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    const t = m.type;
    if (
      t === MessageType.MsgVote ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVote ||
      t === MessageType.MsgPreVoteResp
    ) {
      invariant(m.term !== 0, "vote-has-term", () => `${messageTypeName(t)} without a term`);
    } else if (t !== MessageType.MsgProp && t !== MessageType.MsgReadIndex) {
      m.term = this.term;
    }
    if (
      t === MessageType.MsgAppResp ||
      t === MessageType.MsgVoteResp ||
      t === MessageType.MsgPreVoteResp
    ) {
      this.msgsAfterAppend.push(m);
    } else {
      invariant(
        m.to !== this.id,
        "no-self-message",
        () => `${messageTypeName(t)} addressed to self`,
      );
      this.msgs.push(m);
    }
  }

  /** Sends a MsgApp (or a snapshot) to `to` if flow control allows; true if sent. */
  maybeSendAppend(to: number, sendIfEmpty: boolean): boolean {
    const pr = this.trk.progress.get(to);
    if (pr === undefined || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    const prevTerm = this.raftLog.term(prevIndex);
    if (prevTerm < 0) return this.maybeSendSnapshot(to, pr);
    let ents: Entry[] | undefined = [];
    // A full window still sends empty MsgApps so a lost window can be acknowledged or
    // rejected and replication resumes.
    if (pr.state !== "replicate" || !pr.inflights.full()) {
      ents = this.raftLog.entries(pr.next, this.maxMsgSize);
    }
    if (ents === undefined) return this.maybeSendSnapshot(to, pr);
    if (ents.length === 0 && !sendIfEmpty) return false;
    const commit = this.raftLog.committed;
    this.send(
      makeMessage({
        type: MessageType.MsgApp,
        to,
        from: this.id,
        index: prevIndex,
        logTerm: prevTerm,
        entries: ents,
        commit,
      }),
    );
    pr.sentEntries(
      ents.length,
      ents.length === 0 || !this.tracksInflightBytes ? 0 : this.raftLog.entriesBytes(ents),
    );
    pr.sentCommit = commit;
    return true;
  }

  sendAppend(to: number): void {
    this.maybeSendAppend(to, true);
  }

  private maybeSendSnapshot(to: number, pr: Progress): boolean {
    if (!pr.recentActive) return false;
    let snap: Snapshot;
    try {
      snap = this.raftLog.snapshot();
    } catch (e) {
      if (e instanceof RaftError && e.code === "snapshot-temporarily-unavailable") return false;
      throw e;
    }
    invariant(
      snap.metadata.index > 0,
      "snapshot-not-empty",
      () => `follower ${to} needs compacted entries but the snapshot is empty`,
    );
    const cs = snap.metadata.confState;
    if (!cs.voters.includes(to) && !cs.learners.includes(to)) {
      // The follower would refuse it (see restore). Not sending it saves the transfer; the
      // storage is asked again at the next probe (a heartbeat response), by when it may
      // serve a snapshot taken after the follower was added.
      this.warn(
        () =>
          `not sending snapshot at ${snap.metadata.index} to ${to}: it predates ${to}'s ` +
          "addition; the storage must serve a snapshot taken after the follower was added",
      );
      return false;
    }
    pr.becomeSnapshot(snap.metadata.index);
    this.log(() => `sending snapshot at ${snap.metadata.index} to ${to}`);
    this.send(makeMessage({ type: MessageType.MsgSnap, to, from: this.id, snapshot: snap }));
    return true;
  }

  private sendHeartbeat(to: number, ctx: Uint8Array): void {
    const pr = this.trk.progress.get(to)!;
    const commit = Math.min(pr.match, this.raftLog.committed);
    this.send(
      makeMessage({ type: MessageType.MsgHeartbeat, to, from: this.id, commit, context: ctx }),
    );
    pr.sentCommit = commit;
  }

  bcastAppend(): void {
    for (const id of this.trk.progress.keys()) {
      if (id !== this.id) this.sendAppend(id);
    }
  }

  private bcastHeartbeat(ctx: Uint8Array | undefined): void {
    const c = ctx ?? this.readOnly.lastPendingRequestCtx() ?? EMPTY_BYTES;
    for (const id of this.trk.progress.keys()) {
      if (id !== this.id) this.sendHeartbeat(id, c);
    }
  }

  private sendTimeoutNow(to: number): void {
    if (this.bugs.transferSkipsTimeoutNow === true) return;
    this.send(makeMessage({ type: MessageType.MsgTimeoutNow, to, from: this.id }));
  }

  // ------------------------------------------------------------- role changes

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.trk.resetVotes();
    const last = this.raftLog.lastIndex();
    for (const [id, pr] of this.trk.progress) {
      const np = this.trk.newProgress(last + 1, pr.isLearner);
      if (id === this.id) np.match = last;
      this.trk.progress.set(id, np);
    }
    this.pendingConfIndex = 0;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    this.pendingReadIndexMessages = [];
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + this.rng.intn(this.electionTimeout);
  }

  becomeFollower(term: number, lead: number): void {
    this.reset(term);
    this.lead = lead;
    this.role = "follower";
  }

  private becomeCandidate(): void {
    invariant(
      this.role !== "leader",
      "no-leader-to-candidate",
      () => "a leader cannot become a candidate",
    );
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = "candidate";
    this.log(() => `became candidate at term ${this.term}`);
  }

  private becomePreCandidate(): void {
    invariant(
      this.role !== "leader",
      "no-leader-to-precandidate",
      () => "a leader cannot become a pre-candidate",
    );
    // Neither the term nor the vote changes: a pre-election must not disturb anyone.
    this.trk.resetVotes();
    this.lead = NONE;
    this.role = "pre-candidate";
  }

  private becomeLeader(): void {
    invariant(
      this.role !== "follower",
      "no-follower-to-leader",
      () => "a follower cannot become leader directly",
    );
    this.reset(this.term);
    this.lead = this.id;
    this.role = "leader";
    const pr = this.trk.progress.get(this.id);
    if (pr !== undefined) {
      pr.becomeReplicate();
      pr.recentActive = true;
    }
    // Any entry in the tail might be a conf change: wait until all of it commits before
    // accepting a new one (cheaper than scanning the tail).
    this.pendingConfIndex = this.raftLog.lastIndex();
    const appended = this.appendEntry([
      { term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES },
    ]);
    invariant(appended, "leader-empty-entry", () => "the new leader's empty entry was refused");
    this.log(() => `became leader at term ${this.term}`);
  }

  promotable(): boolean {
    const pr = this.trk.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && this.raftLog.unstable.snapshot === undefined;
  }

  // ----------------------------------------------------------------- ticking

  tick(): void {
    if (this.role === "leader") this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    // The elapsed count keeps growing even when the node never campaigns by itself: it is
    // also what ends the lease in which a follower ignores other candidates.
    this.electionElapsed++;
    if (!this.campaignOnElectionTimeout) return;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(makeMessage({ type: MessageType.MsgHup, to: NONE, from: this.id }));
    }
  }

  /**
   * The connection to `id` broke (its process is gone, or the network reset the connection).
   * A follower whose leader that is stops waiting out the election timeout: it leaves the
   * leader's lease at once (so it grants the other survivors' votes) and campaigns after a
   * delay set by its rank among the remaining voters: the lowest id at once, the next one
   * LEADER_LOST_STAGGER of an election timeout later, and so on, so that two survivors that
   * saw the same drop do not split the vote.
   *
   * This only moves when an election starts, which Raft's safety never depends on. A drop
   * while the leader lives costs at most a pre-vote round: the other voters are still in the
   * lease and ignore it, so no term moves, and the leader's next heartbeat makes this node
   * its follower again. Nodes that campaign only when told (the benchmark's followers) and
   * nodes that cannot campaign (learners) ignore it.
   */
  leaderDisconnected(id: number): void {
    if (this.role !== "follower" || this.lead !== id || id === NONE) return;
    if (!this.campaignOnElectionTimeout || !this.promotable()) return;
    this.log(() => `the connection to leader ${id} broke: not waiting for the election timeout`);
    this.lead = NONE;
    this.electionElapsed = this.electionTimeout;
    const others = this.trk.voters.filter((v) => v !== id).sort((a, b) => a - b);
    const rank = Math.max(0, others.indexOf(this.id));
    const stagger = Math.max(1, Math.floor(this.electionTimeout * LEADER_LOST_STAGGER));
    // Kept below a second election timeout: never later than an ordinary one would be.
    this.randomizedElectionTimeout =
      this.electionTimeout + Math.min(rank * stagger, this.electionTimeout - 1);
    // Rank 0 campaigns now; the elapsed count stays past the timeout, so if its pre-vote
    // reached voters that had not seen the drop yet, it tries again at the next tick.
    if (rank === 0) this.step(makeMessage({ type: MessageType.MsgHup, to: NONE, from: this.id }));
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) {
        this.step(makeMessage({ type: MessageType.MsgCheckQuorum, to: NONE, from: this.id }));
      }
      // A transfer that has not finished within an election timeout is abandoned.
      if (this.role === "leader" && this.leadTransferee !== NONE) this.abortLeaderTransfer();
    }
    if (this.role !== "leader") return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(makeMessage({ type: MessageType.MsgBeat, to: NONE, from: this.id }));
    }
  }

  // --------------------------------------------------------------- elections

  private hup(kind: CampaignKind): void {
    if (this.role === "leader") return;
    if (!this.promotable()) return;
    if (this.hasUnappliedConfChanges()) {
      this.log(() => "not campaigning: committed conf changes are not applied yet");
      return;
    }
    this.campaign(kind);
  }

  private hasUnappliedConfChanges(): boolean {
    const log = this.raftLog;
    if (log.applied >= log.committed) return false;
    const ents = log.slice(log.applied + 1, log.committed + 1, Number.POSITIVE_INFINITY);
    if (ents === undefined) return false;
    for (let i = 0; i < ents.length; i++) if (ents[i]!.type === EntryType.ConfChange) return true;
    return false;
  }

  private campaign(kind: CampaignKind): void {
    let term: number;
    let voteType: MessageType;
    if (kind === "pre-election") {
      this.becomePreCandidate();
      voteType = MessageType.MsgPreVote;
      // Pre-votes ask about the next term without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = MessageType.MsgVote;
      term = this.term;
    }
    const lastIndex = this.raftLog.lastIndex();
    const lastTerm = this.raftLog.lastTerm();
    const context = kind === "transfer" ? TRANSFER_CONTEXT : EMPTY_BYTES;
    for (const id of this.trk.voters) {
      if (id === this.id) {
        // Our own vote counts once it is durable, like anyone else's.
        this.send(makeMessage({ type: voteRespType(voteType), to: id, from: this.id, term }));
        continue;
      }
      this.send(
        makeMessage({
          type: voteType,
          to: id,
          from: this.id,
          term,
          index: lastIndex,
          logTerm: lastTerm,
          context,
        }),
      );
    }
  }

  private poll(from: number, granted: boolean): "pending" | "won" | "lost" {
    this.trk.recordVote(from, granted);
    return this.trk.voteResult(this.trk.votes);
  }

  // ---------------------------------------------------------------- stepping

  /** Feeds one message to the state machine. Throws RaftError("proposal-dropped") on refusal. */
  step(m: Message): void {
    if (m.term === 0) {
      // Local message.
    } else if (m.term > this.term) {
      if (m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote) {
        const force = isTransferContext(m.context);
        const inLease =
          this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        // Within the lease of a live leader a vote request is ignored: it comes from a node
        // that cannot reach the leader, and granting it would depose a healthy leader.
        if (!force && inLease) return;
      }
      if (m.type === MessageType.MsgPreVote) {
        // A pre-vote never changes our term.
      } else if (m.type === MessageType.MsgPreVoteResp && !m.reject) {
        // Granted pre-votes carry the future term; we move to it only on winning.
      } else if (
        m.type === MessageType.MsgApp ||
        m.type === MessageType.MsgHeartbeat ||
        m.type === MessageType.MsgSnap
      ) {
        this.becomeFollower(m.term, m.from);
      } else {
        this.becomeFollower(m.term, NONE);
      }
    } else if (m.term < this.term) {
      if (
        (this.checkQuorum || this.preVote) &&
        (m.type === MessageType.MsgHeartbeat || m.type === MessageType.MsgApp)
      ) {
        // A stale leader (or our own term ran ahead during a partition): answer so the
        // sender learns the newer term and steps down.
        this.send(makeMessage({ type: MessageType.MsgAppResp, to: m.from, from: this.id }));
      } else if (m.type === MessageType.MsgPreVote) {
        this.send(
          makeMessage({
            type: MessageType.MsgPreVoteResp,
            to: m.from,
            from: this.id,
            term: this.term,
            reject: true,
          }),
        );
      } else if (m.type === MessageType.MsgStorageAppendResp) {
        // The entries may have been overwritten in a later term: do not mark them stable
        // (a later append response of the current term will). A snapshot is still written.
        if (m.snapshot !== undefined) this.appliedSnap(m.snapshot);
      }
      return;
    }

    switch (m.type) {
      case MessageType.MsgHup:
        this.hup(this.preVote ? "pre-election" : "election");
        return;
      case MessageType.MsgStorageAppendResp:
        if (m.index !== 0) this.raftLog.stableTo(m.index, m.logTerm);
        if (m.snapshot !== undefined) this.appliedSnap(m.snapshot);
        return;
      case MessageType.MsgStorageApplyResp:
        if (m.entries.length > 0) {
          const last = m.entries[m.entries.length - 1]!.index;
          // Sizes matter only when a limit uses them (entries from before a restart or
          // snapshot are measured again; the others were recorded when appended).
          const size =
            this.raftLog.tracksApplyingSize || this.tracksUncommittedSize
              ? this.raftLog.entriesBytes(m.entries)
              : 0;
          this.appliedTo(last, size);
          this.reduceUncommittedSize(size);
        }
        return;
      case MessageType.MsgVote:
      case MessageType.MsgPreVote:
        this.handleVoteRequest(m);
        return;
      default:
        break;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(m);
        return;
      case "candidate":
      case "pre-candidate":
        this.stepCandidate(m);
        return;
      case "follower":
        this.stepFollower(m);
        return;
    }
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      this.vote === m.from ||
      (this.vote === NONE && this.lead === NONE) ||
      (m.type === MessageType.MsgPreVote && m.term > this.term);
    const upToDate =
      this.bugs.ignoreCandidateLogUpToDate === true || this.raftLog.isUpToDate(m.index, m.logTerm);
    // Learners vote too: a learner may have been promoted without knowing it yet.
    if (canVote && upToDate) {
      // The response carries the request's term so a candidate with a stale term can
      // still count it (pre-votes do not move our term).
      this.send(
        makeMessage({ type: voteRespType(m.type), to: m.from, from: this.id, term: m.term }),
      );
      if (m.type === MessageType.MsgVote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(
        makeMessage({
          type: voteRespType(m.type),
          to: m.from,
          from: this.id,
          term: this.term,
          reject: true,
        }),
      );
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.MsgBeat:
        // A new heartbeat interval: a probe sent in the last one may be retried.
        for (const pr of this.trk.progress.values()) pr.probeSentThisBeat = false;
        this.bcastHeartbeat(undefined);
        return;
      case MessageType.MsgCheckQuorum:
        if (!this.trk.quorumActive() && this.bugs.checkQuorumNeverStepsDown !== true) {
          this.log(() => "stepping down: no contact with a quorum");
          this.becomeFollower(this.term, NONE);
        }
        for (const [id, pr] of this.trk.progress) if (id !== this.id) pr.recentActive = false;
        return;
      case MessageType.MsgProp:
        this.leaderPropose(m);
        return;
      case MessageType.MsgReadIndex:
        if (this.trk.isSingleton() || this.bugs.readIndexWithoutQuorum === true) {
          this.respondToReadIndex(m, this.raftLog.committed);
          return;
        }
        // Until an entry of this term commits, the commit index may lag what an earlier
        // leader committed: hold the read back.
        if (!this.committedEntryInCurrentTerm()) {
          this.pendingReadIndexMessages.push(m);
          return;
        }
        this.startReadIndex(m);
        return;
      default:
        break;
    }

    const pr = this.trk.progress.get(m.from);
    if (pr === undefined) return;
    switch (m.type) {
      case MessageType.MsgAppResp:
        this.handleAppendResponse(m, pr);
        return;
      case MessageType.MsgHeartbeatResp:
        this.handleHeartbeatResponse(m, pr);
        return;
      case MessageType.MsgSnapStatus:
        if (pr.state !== "snapshot") return;
        if (m.reject) pr.pendingSnapshot = 0;
        pr.becomeProbe();
        // Wait for the follower's response (or a heartbeat interval after a failure)
        // before probing again.
        pr.msgAppFlowPaused = true;
        return;
      case MessageType.MsgUnreachable:
        // Optimistically sent MsgApps were probably lost.
        if (pr.state === "replicate") pr.becomeProbe();
        return;
      case MessageType.MsgTransferLeader:
        this.handleTransferLeader(m, pr);
        return;
      default:
        return;
    }
  }

  private leaderPropose(m: Message): void {
    invariant(m.entries.length > 0, "proposal-not-empty", () => "MsgProp without entries");
    const local = m.from === this.id || m.from === NONE;
    if (!this.trk.progress.has(this.id)) throw new RaftError("proposal-dropped", "not a member");
    if (this.leadTransferee !== NONE)
      throw new RaftError("proposal-dropped", "leader transfer in progress");
    let ents = m.entries;
    if (!local) {
      // Entries from another node are copied: their objects may still be referenced by a
      // message that is delivered again.
      ents = new Array<Entry>(ents.length);
      for (let i = 0; i < ents.length; i++) {
        const e = m.entries[i]!;
        ents[i] = { term: 0, index: 0, type: e.type, data: e.data };
      }
    }
    const lastIndex = this.raftLog.lastIndex();
    let newPendingConfIndex = this.pendingConfIndex;
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.type !== EntryType.ConfChange) continue;
      let problem: string | undefined;
      if (newPendingConfIndex > this.raftLog.applied) {
        problem = "conf change pending";
      } else {
        try {
          problem = confChangeProblem(this.trk, decodeConfChange(e.data));
        } catch (err) {
          problem = `undecodable conf change: ${(err as Error).message}`;
        }
      }
      if (problem === undefined) {
        newPendingConfIndex = lastIndex + i + 1;
      } else if (local && ents.length === 1) {
        throw new RaftError("proposal-dropped", problem);
      } else {
        // Keep the index so the rest of the batch is unaffected; the change becomes a no-op.
        ents[i] = { term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES };
      }
    }
    if (!this.appendEntry(ents)) throw new RaftError("proposal-dropped", "uncommitted size limit");
    this.pendingConfIndex = newPendingConfIndex;
    this.bcastAppend();
  }

  /** Appends entries at the leader's term; false if the uncommitted size limit refuses them. */
  appendEntry(ents: Entry[]): boolean {
    const li = this.raftLog.lastIndex();
    const size = this.tracksUncommittedSize ? entriesSize(ents) : 0;
    // An empty tail accepts anything; empty entries are always accepted.
    if (
      this.uncommittedSize > 0 &&
      size > 0 &&
      this.uncommittedSize + size > this.maxUncommittedSize
    ) {
      return false;
    }
    this.uncommittedSize += size;
    const term = this.term;
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      e.term = term;
      e.index = li + 1 + i;
    }
    const last = this.raftLog.append(ents);
    // The leader acknowledges its own entries once they are durable, through the same path
    // as a follower's acknowledgement.
    this.send(
      makeMessage({ type: MessageType.MsgAppResp, to: this.id, from: this.id, index: last }),
    );
    return true;
  }

  private reduceUncommittedSize(size: number): void {
    this.uncommittedSize = size > this.uncommittedSize ? 0 : this.uncommittedSize - size;
  }

  private maybeCommit(): boolean {
    const idx = this.trk.committed(this.bugs.commitWithoutMajority === true ? 1 : 0);
    return this.raftLog.maybeCommit(idx, this.term, this.bugs.commitPreviousTermByCount === true);
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.raftLog.termOrZero(this.raftLog.committed) === this.term;
  }

  private handleAppendResponse(m: Message, pr: Progress): void {
    pr.recentActive = true;
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) {
        // Skip every entry of ours whose term is above the follower's term at the hint:
        // none of them can match.
        nextProbe = this.raftLog.findConflictByTerm(m.rejectHint, m.logTerm)[0];
      }
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === "replicate") pr.becomeProbe();
        this.sendAppend(m.from);
      }
      return;
    }
    const acked =
      this.bugs.matchRunsAhead === true && m.from !== this.id
        ? Math.min(m.index + 1, this.raftLog.lastIndex())
        : m.index;
    // A probing follower that confirms its current match moves to replicate too.
    if (!(pr.maybeUpdate(acked) || (pr.match === acked && pr.state === "probe"))) return;
    if (pr.state === "probe") {
      pr.becomeReplicate();
    } else if (pr.state === "snapshot" && pr.match + 1 >= this.raftLog.firstIndex()) {
      // The follower can now be caught up from the log, whatever snapshot it applied.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === "replicate") {
      pr.inflights.freeLE(m.index);
    }
    if (this.maybeCommit()) {
      this.releasePendingReadIndexMessages();
      this.bcastAppend();
    } else if (m.from !== this.id && pr.canBumpCommit(this.raftLog.committed)) {
      this.sendAppend(m.from);
    }
    if (m.from !== this.id) {
      // The window may have opened for several messages at once.
      while (this.maybeSendAppend(m.from, false)) {
        // keep sending
      }
    }
    if (m.from === this.leadTransferee && pr.match === this.raftLog.lastIndex()) {
      this.sendTimeoutNow(m.from);
    }
  }

  private handleHeartbeatResponse(m: Message, pr: Progress): void {
    pr.heartbeatAnswered();
    // Even a full window gets an (empty) append: the messages that filled it may be lost.
    if (pr.match < this.raftLog.lastIndex() || pr.state === "probe") this.sendAppend(m.from);
    if (m.context.byteLength === 0) return;
    const acks = this.readOnly.recvAck(m.from, m.context);
    if (acks === undefined || this.trk.voteResult(acks) !== "won") return;
    for (const rs of this.readOnly.advance(m.context)) this.respondToReadIndex(rs.req, rs.index);
  }

  private handleTransferLeader(m: Message, pr: Progress): void {
    if (pr.isLearner) return;
    const transferee = m.from;
    if (this.leadTransferee !== NONE) {
      if (this.leadTransferee === transferee) return;
      this.abortLeaderTransfer();
    }
    if (transferee === this.id) return;
    // The transfer must finish within one election timeout.
    this.electionElapsed = 0;
    this.leadTransferee = transferee;
    this.log(() => `transferring leadership to ${transferee}`);
    if (pr.match === this.raftLog.lastIndex()) this.sendTimeoutNow(transferee);
    else this.sendAppend(transferee);
  }

  abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  private startReadIndex(m: Message): void {
    this.readOnly.addRequest(this.raftLog.committed, m);
    const ctx = m.entries[0]!.data;
    this.readOnly.recvAck(this.id, ctx);
    this.bcastHeartbeat(ctx);
  }

  private releasePendingReadIndexMessages(): void {
    if (this.pendingReadIndexMessages.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const msgs = this.pendingReadIndexMessages;
    this.pendingReadIndexMessages = [];
    for (const m of msgs) this.startReadIndex(m);
  }

  private respondToReadIndex(req: Message, index: number): void {
    if (req.from === NONE || req.from === this.id) {
      this.readStates.push({ index, requestCtx: req.entries[0]!.data });
      return;
    }
    this.send(
      makeMessage({
        type: MessageType.MsgReadIndexResp,
        to: req.from,
        from: this.id,
        index,
        entries: req.entries,
      }),
    );
  }

  private stepCandidate(m: Message): void {
    // Only responses to the current kind of campaign count (a candidate may still receive
    // pre-vote responses from its pre-candidacy).
    const myRespType =
      this.role === "pre-candidate" ? MessageType.MsgPreVoteResp : MessageType.MsgVoteResp;
    switch (m.type) {
      case MessageType.MsgProp:
        throw new RaftError("proposal-dropped", "no leader");
      case MessageType.MsgApp:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.MsgHeartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.MsgSnap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case myRespType: {
        const res = this.poll(m.from, !m.reject);
        if (res === "won") {
          if (this.role === "pre-candidate") {
            this.campaign("election");
          } else {
            this.becomeLeader();
            this.bcastAppend();
          }
        } else if (res === "lost") {
          // A rejected pre-vote carries a newer term only if someone is ahead; keep ours.
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.MsgProp:
        if (this.lead === NONE) throw new RaftError("proposal-dropped", "no leader");
        if (this.disableProposalForwarding)
          throw new RaftError("proposal-dropped", "proposal forwarding disabled");
        this.send(
          makeMessage({
            type: MessageType.MsgProp,
            to: this.lead,
            from: m.from === NONE ? this.id : m.from,
            entries: m.entries,
          }),
        );
        return;
      case MessageType.MsgApp:
        if (this.bugs.electionTimerIgnoresLeader !== true) this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.MsgHeartbeat:
        if (this.bugs.electionTimerIgnoresLeader !== true) this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.MsgSnap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.MsgTransferLeader:
        if (this.lead === NONE) return;
        this.send(
          makeMessage({ type: MessageType.MsgTransferLeader, to: this.lead, from: m.from }),
        );
        return;
      case MessageType.MsgTimeoutNow:
        // A transfer skips pre-vote: the leader asked for it, so there is no partition.
        this.hup("transfer");
        return;
      case MessageType.MsgReadIndex:
        if (this.lead === NONE) return;
        this.send(
          makeMessage({
            type: MessageType.MsgReadIndex,
            to: this.lead,
            from: m.from === NONE ? this.id : m.from,
            entries: m.entries,
          }),
        );
        return;
      case MessageType.MsgReadIndexResp:
        if (m.entries.length !== 1) return;
        this.readStates.push({ index: m.index, requestCtx: m.entries[0]!.data });
        return;
      default:
        return;
    }
  }

  private handleAppendEntries(m: Message): void {
    if (m.index < this.raftLog.committed) {
      this.send(
        makeMessage({
          type: MessageType.MsgAppResp,
          to: m.from,
          from: this.id,
          index: this.raftLog.committed,
        }),
      );
      return;
    }
    const lastNew = this.raftLog.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew >= 0) {
      this.send(
        makeMessage({ type: MessageType.MsgAppResp, to: m.from, from: this.id, index: lastNew }),
      );
      return;
    }
    // Hint the largest (index, term) that may match: skip our whole tail above the
    // leader's term at m.index, so the leader can go back a term at a time.
    const [hintIndex, hintTerm] = this.raftLog.findConflictByTerm(
      Math.min(m.index, this.raftLog.lastIndex()),
      m.logTerm,
    );
    this.send(
      makeMessage({
        type: MessageType.MsgAppResp,
        to: m.from,
        from: this.id,
        index: m.index,
        reject: true,
        rejectHint: hintIndex,
        logTerm: hintTerm,
      }),
    );
  }

  private handleHeartbeat(m: Message): void {
    this.raftLog.commitTo(m.commit);
    this.send(
      makeMessage({
        type: MessageType.MsgHeartbeatResp,
        to: m.from,
        from: this.id,
        context: m.context,
      }),
    );
  }

  private handleSnapshot(m: Message): void {
    const s = m.snapshot;
    if (s !== undefined && this.restore(s)) {
      this.send(
        makeMessage({
          type: MessageType.MsgAppResp,
          to: m.from,
          from: this.id,
          index: this.raftLog.lastIndex(),
        }),
      );
    } else {
      this.send(
        makeMessage({
          type: MessageType.MsgAppResp,
          to: m.from,
          from: this.id,
          index: this.raftLog.committed,
        }),
      );
    }
  }

  /** Installs a snapshot from the leader; false if it is stale or already covered. */
  private restore(s: Snapshot): boolean {
    assertSafeIndex(s.metadata.index, "snapshot index");
    assertSafeIndex(s.metadata.term, "snapshot term");
    if (s.metadata.index <= this.raftLog.committed) return false;
    if (this.role !== "follower") {
      // Cannot happen: only a follower receives snapshots. Refuse rather than corrupt.
      this.becomeFollower(this.term + 1, NONE);
      return false;
    }
    const cs = s.metadata.confState;
    // A snapshot whose configuration lacks this node is refused, as in etcd/raft: it was
    // taken before the node was added, and installing it would make the node believe it
    // is outside a group it belongs to. The core cannot repair a stale snapshot; the
    // application must serve a newer one. A leader does not send such a snapshot (see
    // maybeSendSnapshot) and asks its storage again at every probe, so a storage that
    // snapshots its current applied state on demand recovers by itself: the leader
    // contacts a new node only after applying its addition. A storage that keeps serving
    // a snapshot made before the addition leaves the node without a log until it makes
    // a newer one (on the next compaction, for example).
    if (!cs.voters.includes(this.id) && !cs.learners.includes(this.id)) return false;
    if (this.raftLog.matchTerm(s.metadata.index, s.metadata.term)) {
      // We already hold the snapshot's last entry: just move commit forward.
      this.raftLog.commitTo(s.metadata.index);
      return false;
    }
    this.raftLog.restore(s);
    this.trk = new ProgressTracker(this.trk.maxInflightMsgs, this.trk.maxInflightBytes);
    this.switchToConfig(cs);
    // Committed conf changes below the snapshot may still be on their way through the
    // application's apply path; the snapshot's configuration already includes them.
    this.confIndex = Math.max(this.confIndex, s.metadata.index);
    this.log(() => `restored snapshot at index ${s.metadata.index} term ${s.metadata.term}`);
    return true;
  }

  private appliedTo(index: number, size: number): void {
    this.raftLog.appliedTo(Math.max(index, this.raftLog.applied), size);
  }

  private appliedSnap(s: Snapshot): void {
    const index = s.metadata.index;
    this.raftLog.stableSnapTo(index);
    this.appliedTo(index, 0);
  }

  // ------------------------------------------------------ membership changes

  /**
   * Applies a committed ConfChange entry's change and returns the new ConfState. With the
   * entry's `index`, a change the configuration already covers (the core has since
   * restored a newer snapshot, or applied this entry before) is ignored and the current
   * ConfState returned: an application that still holds older committed entries when a
   * snapshot arrives (asynchronous apply, or a Ready taken before the snapshot was stepped)
   * would otherwise roll the configuration back. Without `index` the change is applied
   * unconditionally.
   */
  applyConfChange(cc: ConfChange, index?: number): ConfState {
    assertSafeIndex(cc.nodeId, "conf change nodeId");
    if (index !== undefined) {
      assertSafeIndex(index, "conf change index");
      if (index <= this.confIndex) {
        this.log(() => `ignoring conf change at ${index}: configuration covers ${this.confIndex}`);
        return this.trk.confState();
      }
    }
    if (cc.type !== ConfChangeType.UpdateNode) {
      const problem = confChangeProblem(this.trk, cc);
      invariant(
        problem === undefined,
        "conf-change-valid",
        () => `cannot apply ${JSON.stringify({ type: cc.type, nodeId: cc.nodeId })}: ${problem}`,
      );
    }
    applyToTracker(this.trk, cc, this.raftLog.lastIndex());
    if (index !== undefined) this.confIndex = index;
    return this.afterConfigChange();
  }

  private switchToConfig(cs: ConfState): void {
    restoreTracker(this.trk, cs, this.raftLog.lastIndex());
    this.afterConfigChange();
  }

  private afterConfigChange(): ConfState {
    const cs = this.trk.confState();
    const pr = this.trk.progress.get(this.id);
    this.isLearner = pr?.isLearner === true;
    if ((pr === undefined || this.isLearner) && this.role === "leader") {
      // Removed or demoted: stop leading; the remaining voters elect a new leader.
      this.log(() => "stepping down: removed from the voters");
      this.becomeFollower(this.term, NONE);
      return cs;
    }
    if (this.role !== "leader" || cs.voters.length === 0) return cs;
    if (this.maybeCommit()) {
      this.bcastAppend();
    } else {
      // Probe new members now rather than at the next heartbeat.
      for (const id of this.trk.progress.keys()) {
        if (id !== this.id) this.maybeSendAppend(id, false);
      }
    }
    if (this.leadTransferee !== NONE && !this.trk.isVoter(this.leadTransferee))
      this.abortLeaderTransfer();
    return cs;
  }
}
