// The application's handle on one Raft node: it feeds in ticks, proposals and messages, and
// collects Ready structs (what to persist, send and apply). Two ways of handing back work:
// synchronous (persist the Ready, then advance) or asyncStorageWrites (the Ready carries
// messages for a local append worker and a local apply worker, whose responses are stepped
// back in once the work is done).
import {
  type Config,
  LOCAL_APPEND_THREAD,
  LOCAL_APPLY_THREAD,
  type ProgressStatus,
  type Ready,
  type SoftState,
  type Status,
} from "./api.js";
import { encodeConfChange } from "./confchange.js";
import { invariant, isRaftError, RaftError } from "./errors.js";
import { Raft } from "./raft.js";
import {
  assertSafeIndex,
  type ConfChange,
  ConfChangeType,
  type ConfState,
  EMPTY_BYTES,
  type Entry,
  EntryType,
  emptyHardState,
  type HardState,
  type Message,
  MessageType,
  makeMessage,
  messageTypeName,
  NONE,
} from "./types.js";

function isLocalMsg(t: MessageType): boolean {
  return (
    t === MessageType.MsgHup ||
    t === MessageType.MsgBeat ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgSnapStatus ||
    t === MessageType.MsgCheckQuorum ||
    t === MessageType.MsgStorageAppend ||
    t === MessageType.MsgStorageAppendResp ||
    t === MessageType.MsgStorageApply ||
    t === MessageType.MsgStorageApplyResp
  );
}

function isResponseMsg(t: MessageType): boolean {
  return (
    t === MessageType.MsgAppResp ||
    t === MessageType.MsgVoteResp ||
    t === MessageType.MsgHeartbeatResp ||
    t === MessageType.MsgUnreachable ||
    t === MessageType.MsgReadIndexResp ||
    t === MessageType.MsgPreVoteResp ||
    t === MessageType.MsgStorageAppendResp ||
    t === MessageType.MsgStorageApplyResp
  );
}

function isLocalTarget(id: number): boolean {
  return id === LOCAL_APPEND_THREAD || id === LOCAL_APPLY_THREAD;
}

export class RawNode {
  private readonly raft: Raft;
  private readonly asyncStorageWrites: boolean;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** Sync mode: the Ready handed out and not yet advanced. */
  private pendingReady: Ready | undefined = undefined;
  /** Sync mode: self-addressed messages to step once the pending Ready is persisted. */
  private stepsOnAdvance: Message[] = [];

  /** Restarts from config.storage.initialState() (an empty one for a fresh node). */
  constructor(config: Config) {
    this.raft = new Raft(config);
    this.asyncStorageWrites = config.asyncStorageWrites === true;
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /**
   * Starts a fresh group: one AddNode conf change at term 1 per peer, already committed.
   * The first Ready returns them both to persist and to apply. Only on empty storage.
   */
  bootstrap(peers: readonly number[]): void {
    if (peers.length === 0)
      throw new RaftError("invalid-config", "bootstrap needs at least one peer id");
    const r = this.raft;
    if (r.raftLog.storage.lastIndex() !== 0 || r.raftLog.lastIndex() !== 0) {
      throw new RaftError(
        "invalid-config",
        "bootstrap needs empty storage; restart from the stored state instead",
      );
    }
    for (const id of peers) {
      if (!Number.isSafeInteger(id) || id <= NONE)
        throw new RaftError("invalid-config", `peer ids must be positive integers, got ${id}`);
    }
    // Nothing is persisted yet: the first Ready must carry the hard state.
    this.prevHardState = emptyHardState();
    r.becomeFollower(1, NONE);
    const ents: Entry[] = peers.map((id, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({ type: ConfChangeType.AddNode, nodeId: id, context: EMPTY_BYTES }),
    }));
    r.raftLog.append(ents);
    r.raftLog.committed = ents.length;
    // Applied here so the node can campaign at once; the application applies them again
    // from the Ready, which is ignored when it passes their indexes and a no-op (adding a
    // voter twice) when it does not.
    peers.forEach((id, i) => {
      r.applyConfChange({ type: ConfChangeType.AddNode, nodeId: id, context: EMPTY_BYTES }, i + 1);
    });
  }

  tick(): void {
    this.raft.tick();
  }

  campaign(): void {
    this.raft.step(makeMessage({ type: MessageType.MsgHup, to: NONE, from: this.raft.id }));
  }

  /** Proposes one entry; throws RaftError("proposal-dropped", reason) when refused. */
  propose(data: Uint8Array): void {
    this.raft.step(
      makeMessage({
        type: MessageType.MsgProp,
        to: NONE,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.Normal, data }],
      }),
    );
  }

  /** Proposes many entries as one MsgProp (all accepted or all refused). */
  proposeBatch(datas: readonly Uint8Array[]): void {
    if (datas.length === 0) return;
    const entries = new Array<Entry>(datas.length);
    for (let i = 0; i < datas.length; i++) {
      entries[i] = { term: 0, index: 0, type: EntryType.Normal, data: datas[i]! };
    }
    this.raft.step(
      makeMessage({ type: MessageType.MsgProp, to: NONE, from: this.raft.id, entries }),
    );
  }

  proposeConfChange(cc: ConfChange): void {
    const data = encodeConfChange(cc);
    this.raft.step(
      makeMessage({
        type: MessageType.MsgProp,
        to: NONE,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.ConfChange, data }],
      }),
    );
  }

  /**
   * Steps a message from a peer (or, in async mode, a storage worker's response).
   * Forwarded proposals the leader refuses are dropped silently: their proposer cannot be
   * told, and will time out and retry.
   */
  step(m: Message): void {
    if (isLocalMsg(m.type) && !isLocalTarget(m.from)) {
      throw new RaftError(
        "step-local-msg",
        `${messageTypeName(m.type)} may not arrive from node ${m.from}`,
      );
    }
    if (isResponseMsg(m.type) && !isLocalTarget(m.from) && !this.raft.trk.progress.has(m.from)) {
      throw new RaftError("step-peer-not-found", `response from unknown peer ${m.from}`);
    }
    assertSafeIndex(m.term, "message term");
    assertSafeIndex(m.index, "message index");
    assertSafeIndex(m.logTerm, "message logTerm");
    assertSafeIndex(m.commit, "message commit");
    if (m.entries.length > 0) {
      assertSafeIndex(m.entries[m.entries.length - 1]!.index, "message entry index");
    }
    if (m.type !== MessageType.MsgProp) {
      this.raft.step(m);
      return;
    }
    // A proposal this node forwarded can come back to it once it leads. Arriving from a
    // peer, its entries may still be referenced by a copy delivered again, so the leader
    // must not stamp them in place as it does with its own proposals.
    const prop =
      m.from === this.raft.id
        ? { ...m, entries: m.entries.map((e) => ({ ...e, term: 0, index: 0 })) }
        : m;
    try {
      this.raft.step(prop);
    } catch (e) {
      if (!isRaftError(e, "proposal-dropped")) throw e;
    }
  }

  hasReady(): boolean {
    const r = this.raft;
    if (r.lead !== this.prevSoftState.lead || r.role !== this.prevSoftState.role) return true;
    const ph = this.prevHardState;
    if (r.term !== ph.term || r.vote !== ph.vote || r.raftLog.committed !== ph.commit) return true;
    const log = r.raftLog;
    if (log.unstable.nextSnapshot() !== undefined) return true;
    if (r.msgs.length > 0 || r.msgsAfterAppend.length > 0) return true;
    if (log.hasNextUnstableEnts() || log.hasNextCommittedEnts(!this.asyncStorageWrites))
      return true;
    return r.readStates.length > 0;
  }

  /** Everything to persist, send and apply now. In sync mode, follow with advance(rd). */
  ready(): Ready {
    if (!this.asyncStorageWrites) {
      invariant(
        this.pendingReady === undefined,
        "advance-before-next-ready",
        () => "ready() called again before advance() of the previous Ready",
      );
    }
    const r = this.raft;
    const log = r.raftLog;
    const allowUnstable = !this.asyncStorageWrites;
    const entries = log.unstable.nextEntries();
    const committedEntries = log.nextCommittedEnts(allowUnstable);
    const rd: Ready = {
      readStates: r.readStates,
      entries,
      committedEntries,
      messages: r.msgs,
      mustSync: false,
    };
    const soft = r.softState();
    if (soft.lead !== this.prevSoftState.lead || soft.role !== this.prevSoftState.role)
      rd.softState = soft;
    const hard = r.hardState();
    const ph = this.prevHardState;
    if (hard.term !== ph.term || hard.vote !== ph.vote || hard.commit !== ph.commit)
      rd.hardState = hard;
    const snap = log.unstable.nextSnapshot();
    if (snap !== undefined) rd.snapshot = snap;
    rd.mustSync = entries.length > 0 || hard.term !== ph.term || hard.vote !== ph.vote;

    // What the append worker (or, in sync mode, advance) must acknowledge: the last entry
    // written so far, so the unstable tail can be dropped once it is durable.
    const needAppendResp = log.hasNextOrInProgressUnstableEnts() || snap !== undefined;
    const appendResp = needAppendResp ? this.storageAppendResp(snap) : undefined;

    if (this.asyncStorageWrites) {
      const needAppend =
        entries.length > 0 ||
        rd.hardState !== undefined ||
        snap !== undefined ||
        r.msgsAfterAppend.length > 0;
      if (needAppend) {
        const responses = r.msgsAfterAppend;
        // The leader's self MsgAppResp is handled before the append response trims the
        // unstable log.
        if (appendResp !== undefined) responses.push(appendResp);
        rd.messages.push(
          makeMessage({
            type: MessageType.MsgStorageAppend,
            to: LOCAL_APPEND_THREAD,
            from: r.id,
            entries,
            term: rd.hardState?.term ?? 0,
            vote: rd.hardState?.vote ?? 0,
            commit: rd.hardState?.commit ?? 0,
            snapshot: snap,
            responses,
          }),
        );
      }
      if (committedEntries.length > 0) {
        rd.messages.push(
          makeMessage({
            type: MessageType.MsgStorageApply,
            to: LOCAL_APPLY_THREAD,
            from: r.id,
            entries: committedEntries,
            responses: [
              makeMessage({
                type: MessageType.MsgStorageApplyResp,
                to: r.id,
                from: LOCAL_APPLY_THREAD,
                entries: committedEntries,
              }),
            ],
          }),
        );
      }
    } else {
      const steps: Message[] = [];
      for (const m of r.msgsAfterAppend) {
        if (m.to === r.id) steps.push(m);
        else rd.messages.push(m);
      }
      if (appendResp !== undefined) steps.push(appendResp);
      if (committedEntries.length > 0) {
        steps.push(
          makeMessage({
            type: MessageType.MsgStorageApplyResp,
            to: r.id,
            from: LOCAL_APPLY_THREAD,
            entries: committedEntries,
          }),
        );
      }
      this.stepsOnAdvance = steps;
      this.pendingReady = rd;
    }

    // Accept the Ready: everything in it counts as handed out.
    if (rd.softState !== undefined) this.prevSoftState = rd.softState;
    if (rd.hardState !== undefined) this.prevHardState = rd.hardState;
    r.readStates = [];
    r.msgs = [];
    r.msgsAfterAppend = [];
    log.acceptUnstable();
    if (committedEntries.length > 0) {
      log.acceptApplying(
        committedEntries[committedEntries.length - 1]!.index,
        log.tracksApplyingSize ? log.entriesBytes(committedEntries) : 0,
        allowUnstable,
      );
    }
    return rd;
  }

  private storageAppendResp(snap: Ready["snapshot"]): Message {
    const r = this.raft;
    const log = r.raftLog;
    const m = makeMessage({
      type: MessageType.MsgStorageAppendResp,
      to: r.id,
      from: LOCAL_APPEND_THREAD,
      term: r.term,
      snapshot: snap,
    });
    if (log.hasNextOrInProgressUnstableEnts()) {
      m.index = log.lastIndex();
      m.logTerm = log.lastTerm();
    }
    return m;
  }

  /** Sync mode: the given Ready (the last one returned) is persisted and applied. */
  advance(rd: Ready): void {
    if (this.asyncStorageWrites) {
      throw new RaftError(
        "invalid-config",
        "advance() is not used with asyncStorageWrites; step the storage responses instead",
      );
    }
    invariant(
      this.pendingReady === rd,
      "advance-matches-ready",
      () => "advance() was given a Ready other than the last one returned by ready()",
    );
    this.pendingReady = undefined;
    const steps = this.stepsOnAdvance;
    this.stepsOnAdvance = [];
    for (const m of steps) this.raft.step(m);
  }

  /**
   * Applies a committed conf change; returns the configuration now in force. Pass the
   * entry's `index`: the change is then ignored when the configuration already covers it
   * (a snapshot restored after the entry was handed out for applying, or the same entry
   * applied twice), which keeps an older entry still in the apply path from rolling the
   * configuration back. Without `index` the change is applied unconditionally.
   */
  applyConfChange(cc: ConfChange, index?: number): ConfState {
    return this.raft.applyConfChange(cc, index);
  }

  transferLeader(to: number): void {
    this.raft.step(makeMessage({ type: MessageType.MsgTransferLeader, to: NONE, from: to }));
  }

  /** Requests a linearizable read; the answer arrives as a ReadState carrying `ctx`. */
  readIndex(ctx: Uint8Array): void {
    this.raft.step(
      makeMessage({
        type: MessageType.MsgReadIndex,
        to: NONE,
        from: this.raft.id,
        entries: [{ term: 0, index: 0, type: EntryType.Normal, data: ctx }],
      }),
    );
  }

  reportUnreachable(id: number): void {
    this.raft.step(makeMessage({ type: MessageType.MsgUnreachable, to: NONE, from: id }));
  }

  /** The connection to peer `id` broke: a follower of `id` campaigns without waiting. */
  reportDisconnected(id: number): void {
    this.raft.leaderDisconnected(id);
  }

  reportSnapshot(id: number, ok: boolean): void {
    this.raft.step(
      makeMessage({ type: MessageType.MsgSnapStatus, to: NONE, from: id, reject: !ok }),
    );
  }

  status(): Status {
    const r = this.raft;
    const progress = new Map<number, ProgressStatus>();
    if (r.role === "leader") {
      for (const [id, pr] of r.trk.progress) progress.set(id, pr.status());
    }
    return {
      id: r.id,
      term: r.term,
      vote: r.vote,
      commit: r.raftLog.committed,
      lead: r.lead,
      role: r.role,
      applied: r.raftLog.applied,
      leadTransferee: r.leadTransferee,
      progress,
    };
  }

  /**
   * Whether the node holds a snapshot not yet confirmed persisted. Its configuration is
   * already in force: conf changes from older committed entries are ignored when applied
   * with their index (applyConfChange(cc, index)), and must not be applied without it.
   */
  hasPendingSnapshot(): boolean {
    return this.raft.raftLog.unstable.snapshot !== undefined;
  }

  /** The configuration currently in force (for snapshots and diagnostics). */
  confState(): ConfState {
    return this.raft.trk.confState();
  }
}
