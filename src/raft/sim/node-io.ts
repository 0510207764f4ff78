// Node I/O: everything between a simulated node's core and the world around it. It starts
// a RawNode over the node's durable storage, calls into it (a broken core invariant or an
// unexpected exception is a violation of the run), takes its Readys, persists and applies
// them (synchronously, or through the local append and apply workers of
// asyncStorageWrites), and hands messages to the network. After every event the node's
// state goes to the invariant checker.
//
// Persistence is explicit: a node's MemoryStorage and StateMachine are durable, its
// RawNode, the Ready in its hands and its worker queues are not. A restart builds a new
// RawNode from the storage with `applied` = the storage's snapshot index, and the state
// machine skips the entries it applied before the crash (it replays their configuration
// changes to the core, which only knows the snapshot's configuration).
import type { Config, Ready, Status } from "../api.js";
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD } from "../api.js";
import { decodeConfChange } from "../confchange.js";
import { InvariantViolation, isRaftError } from "../errors.js";
import { SeededRng } from "../rng.js";
import {
  type Entry,
  EntryType,
  type HardState,
  isEmptySnapshot,
  type Message,
  MessageType,
  type Snapshot,
} from "../types.js";
import { SafetyViolation } from "./checker.js";
import { Properties } from "./properties/index.js";
import type { SimNode } from "./sim-node.js";
import { decodeImage } from "./state-machine.js";
import { readIdOf } from "./workload.js";
import type { SimWorld } from "./world.js";

const ELECTION_TICK = 10;
const HEARTBEAT_TICK = 2;

/** What node I/O tells the rest of the run about. */
export interface NodeIoEvents {
  /** A node was seen leading: just elected, or having just advanced its commit index. */
  leaderSeen(leader: SimNode, elected: boolean, committed: boolean): void;
  /** A node's state machine reached `index` (by an entry, or by a snapshot: no entry). */
  applied(index: number, entry: Entry | undefined): void;
}

export class NodeIo {
  private readonly w: SimWorld;
  private readonly events: NodeIoEvents;
  private readonly preVote: boolean;
  private readonly checkQuorum: boolean;
  private readonly maxSizePerMsg: number;
  /** The properties beyond the checker's invariants (properties/), fed from here. */
  readonly props: Properties;

  constructor(world: SimWorld, events: NodeIoEvents) {
    this.w = world;
    this.events = events;
    // Both settings are exercised across seeds; neither affects safety.
    this.preVote = world.rng.intn(4) !== 0;
    this.checkQuorum = world.rng.intn(4) !== 0;
    // Small messages make followers catch up in many partial appends, where commitment
    // rules matter most.
    this.maxSizePerMsg = [64, 256, 4096][world.rng.intn(3)]!;
    this.props = new Properties({
      world,
      checkQuorum: this.checkQuorum,
      electionTick: ELECTION_TICK,
    });
  }

  /**
   * Calls into the core. Expected refusals (the codes listed) are ignored; a broken core
   * invariant or any other exception is a violation of this run.
   */
  core(node: SimNode, what: string, fn: () => void, expected: readonly string[] = []): void {
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

  startNode(node: SimNode): void {
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
      asyncStorageWrites: this.w.opts.async,
      rng: new SeededRng(this.w.rng.nextU32()),
      testingBugs: this.w.opts.testingBugs,
    };
    this.core(node, "restart", () => node.start(config));
  }

  /** After anything happened to a node: check its state, then take what it has ready. */
  afterEvent(node: SimNode): void {
    if (!node.up) return;
    this.observe(node);
    if (this.w.opts.async) {
      while (node.raw!.hasReady()) this.takeReady(node);
    } else if (node.pending === undefined && node.raw!.hasReady()) {
      this.takeReady(node);
    }
  }

  tickAll(): void {
    this.w.note(0, "tick");
    for (const node of this.w.nodes) {
      if (!node.up) continue;
      this.core(node, "tick", () => node.raw!.tick());
      this.afterEvent(node);
    }
    this.w.ticks++;
    this.props.ticked();
  }

  /** Whether a unit of work() on this node has anything to do, and how much. */
  backlog(node: SimNode): number {
    const inbox = this.w.network.hasDeliverable(node.id, this.w.now)
      ? this.w.network.queued(node.id)
      : 0;
    const storage = node.appendQueue.length + (node.pending === undefined ? 0 : 1);
    return inbox + storage + node.applyQueue.length;
  }

  /** The kinds of work a node has now, each as an action (the scheduler picks one). */
  workKinds(node: SimNode): (() => void)[] {
    const kinds: (() => void)[] = [];
    if (this.w.network.hasDeliverable(node.id, this.w.now)) kinds.push(() => this.deliver(node));
    if (node.hasStorageWork()) kinds.push(() => this.storageWork(node));
    if (node.hasApplyWork()) kinds.push(() => this.applyWork(node));
    return kinds;
  }

  /** Receives a few messages (a transport reads what has arrived, up to a batch). */
  private deliver(node: SimNode): void {
    const batch = 1 + this.w.rng.intn(4);
    for (let i = 0; i < batch && node.up; i++) {
      const m = this.w.network.take(node.id, this.w.now);
      if (m === undefined) return;
      this.w.note(node.id, "recv", m);
      this.props.delivered(node, m);
      this.stepInto(node, m);
      this.afterEvent(node);
      if (m.type === MessageType.MsgSnap) {
        const sender = this.w.node(m.from);
        this.reportSnapshot(sender, node.id, true);
        this.afterEvent(sender);
      }
    }
  }

  /** Steps a message into the node; messages from peers it does not know are ignored. */
  private stepInto(node: SimNode, m: Message): void {
    this.core(node, "step", () => node.raw!.step(m), ["step-peer-not-found"]);
  }

  private observe(node: SimNode): void {
    let st: Status | undefined;
    this.core(node, "status", () => {
      st = node.raw!.status();
    });
    const before = { wasLeader: node.isLeader, term: node.term, commit: node.commit };
    const wasLeader = node.isLeader;
    const oldCommit = node.commit;
    node.isLeader = st!.role === "leader";
    node.term = st!.term;
    node.commit = st!.commit;
    node.lead = st!.lead;
    node.leadTransferee = st!.leadTransferee;
    this.w.checker.observeState(node.id, st!.term, node.isLeader, st!.commit);
    this.checkConfigAgreement(node, st!.applied);
    this.props.observed(node, st!, before);
    if (node.isLeader) this.events.leaderSeen(node, !wasLeader, st!.commit > oldCommit);
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

  private takeReady(node: SimNode): void {
    let rd: Ready | undefined;
    this.core(node, "ready", () => {
      rd = node.raw!.ready();
    });
    const ready = rd!;
    for (const rs of ready.readStates) {
      const readId = readIdOf(rs.requestCtx);
      this.props.readAnswered(node, readId);
      this.w.checker.readAnswered(node.id, readId, rs.index);
    }
    if (this.w.opts.async) {
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
    if (node.isLeader) this.w.checker.leaderLog(node.id, node.term);
  }

  /** What the core handed out for persistence is its log now (the checker's "mem" view). */
  private trackHandedOut(node: SimNode, snap: Snapshot | undefined, entries: Entry[]): void {
    if (snap !== undefined && !isEmptySnapshot(snap)) {
      const img = decodeImage(snap.data);
      this.w.checker.snapshot(node.id, "mem", snap.metadata.index, snap.metadata.term, img.hash);
    }
    this.w.checker.append(node.id, "mem", entries);
    for (const e of entries) {
      if (e.type === EntryType.ConfChange && e.index > node.lastConfIndex)
        node.lastConfIndex = e.index;
    }
  }

  /**
   * Hands a message to the network. Like a real transport, the sender learns when a
   * snapshot did not get through (reportSnapshot) and when a peer is cut off
   * (reportUnreachable); without that a leader would wait for a lost snapshot forever.
   */
  private send(m: Message): void {
    this.props.sent(m);
    const outcome = this.w.network.send(m, this.w.now);
    if (outcome === "queued") return;
    const sender = this.w.node(m.from);
    if (!sender.up) return;
    if (outcome === "blocked") {
      this.core(sender, "reportUnreachable", () => sender.raw!.reportUnreachable(m.to));
    }
    if (m.type === MessageType.MsgSnap) this.reportSnapshot(sender, m.to, false);
  }

  reportSnapshot(sender: SimNode, to: number, ok: boolean): void {
    if (!sender.up) return;
    this.w.note(sender.id, `snapshot to ${to} ${ok ? "delivered" : "failed"}`);
    this.core(sender, "reportSnapshot", () => sender.raw!.reportSnapshot(to, ok));
  }

  private storageWork(node: SimNode): void {
    if (this.w.opts.async) {
      const m = node.appendQueue.shift()!;
      this.w.note(node.id, "append worker", m);
      const hs = m.term !== 0 ? { term: m.term, vote: m.vote, commit: m.commit } : undefined;
      this.persist(node, m.snapshot, m.entries, hs);
      this.deliverResponses(node, m);
    } else if (!node.pendingPersisted) {
      const rd = node.pending!;
      this.w.note(node.id, `persist ready (${rd.entries.length} entries)`);
      this.persist(node, rd.snapshot, rd.entries, rd.hardState);
      node.pendingPersisted = true;
      for (const m of rd.messages) this.send(m);
    } else {
      const rd = node.pending!;
      this.w.note(node.id, `apply ready (${rd.committedEntries.length} entries) and advance`);
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
    const checker = this.w.checker;
    if (snap !== undefined && !isEmptySnapshot(snap)) {
      this.core(node, "storage.applySnapshot", () => node.storage.applySnapshot(snap));
      const img = decodeImage(snap.data);
      checker.snapshot(node.id, "disk", snap.metadata.index, snap.metadata.term, img.hash);
      this.restoreStateMachine(node, snap);
    }
    if (entries.length > 0) {
      this.core(node, "storage.append", () => node.storage.append(entries));
      checker.append(node.id, "disk", entries);
    }
    if (hs !== undefined) {
      node.storage.setHardState(hs);
      checker.durableCommit(node.id, hs.commit);
    }
  }

  private restoreStateMachine(node: SimNode, snap: Snapshot): void {
    if (snap.metadata.index <= node.sm.index) return;
    const img = decodeImage(snap.data);
    this.w.checker.restored(node.id, snap.metadata.index, snap.metadata.term, img.hash);
    node.sm.restore(snap);
    this.events.applied(snap.metadata.index, undefined);
  }

  private applyWork(node: SimNode): void {
    const m = node.applyQueue.shift()!;
    this.w.note(node.id, "apply worker", m);
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
      this.props.confApplied(node);
    }
    this.w.checker.applied(node.id, e);
    if (e.index <= node.sm.index) return;
    node.sm.apply(e);
    if (cc !== undefined) node.sm.applyConfChange(cc);
    this.events.applied(e.index, e);
  }
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  return sa.every((id, i) => id === sb[i]);
}
