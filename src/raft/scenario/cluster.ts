// A small in-process cluster of RawNodes over MemoryStorage and a scripted network, for
// focused tests and transcript scenarios. Every step is explicit (tick, deliver, handle a
// Ready), so a test controls exactly which messages arrive and when. With
// asyncStorageWrites, storage work queues up per node until completeAppends/completeApplies.
import type { Config, ReadState, Ready } from "../api.js";
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD } from "../api.js";
import { decodeConfChange } from "../confchange.js";
import { isRaftError } from "../errors.js";
import { MemoryStorage } from "../memory-storage.js";
import { RawNode } from "../rawnode.js";
import { SeededRng } from "../rng.js";
import {
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  type Snapshot,
} from "../types.js";
import { formatConfState, formatMessage, formatReady } from "./format.js";

export interface ClusterOptions {
  ids?: number[];
  asyncStorageWrites?: boolean;
  preVote?: boolean;
  checkQuorum?: boolean;
  electionTick?: number;
  heartbeatTick?: number;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  maxInflightBytes?: number;
  maxUncommittedEntriesSize?: number;
  maxCommittedSizePerReady?: number;
  disableProposalForwarding?: boolean;
  seed?: number;
  /** Bootstrap every node with `ids` as voters (default true). */
  bootstrap?: boolean;
  /** Record a transcript of every Ready and delivery. */
  transcript?: boolean;
  /** Last chance to change each node's config. */
  configure?: (cfg: Config) => void;
}

export class TestNode {
  rn: RawNode;
  /** Normal entries applied to the state machine, in order. */
  applied: Entry[] = [];
  appliedIndex = 0;
  confState: ConfState = { voters: [], learners: [] };
  readStates: ReadState[] = [];
  /** asyncStorageWrites: local storage messages not yet carried out, in order. */
  pendingAppends: Message[] = [];
  pendingApplies: Message[] = [];
  /** Snapshot data of the state machine: the applied entries' count, for checking. */
  snapshotData: Uint8Array = new Uint8Array(0);

  constructor(
    readonly id: number,
    readonly config: Config,
    readonly storage: MemoryStorage,
  ) {
    this.rn = new RawNode(config);
  }

  appliedData(): string[] {
    const d = new TextDecoder();
    return this.applied.filter((e) => e.data.byteLength > 0).map((e) => d.decode(e.data));
  }
}

export class Cluster {
  readonly nodes = new Map<number, TestNode>();
  /** Messages in flight, in send order. */
  network: Message[] = [];
  /** Every message ever put on the network, for assertions. */
  readonly sent: Message[] = [];
  /** Cut links, as "from-to". */
  private readonly cut = new Set<string>();
  readonly transcript: string[] = [];
  private readonly recording: boolean;
  readonly opts: ClusterOptions;

  constructor(opts: ClusterOptions = {}) {
    this.opts = opts;
    this.recording = opts.transcript === true;
    const ids = opts.ids ?? [1, 2, 3];
    for (const id of ids) this.addNode(id, opts.bootstrap === false ? undefined : ids);
  }

  private makeConfig(id: number, storage: MemoryStorage, applied: number): Config {
    const o = this.opts;
    const cfg: Config = {
      id,
      electionTick: o.electionTick ?? 10,
      heartbeatTick: o.heartbeatTick ?? 1,
      storage,
      applied,
      maxSizePerMsg: o.maxSizePerMsg,
      maxInflightMsgs: o.maxInflightMsgs ?? 256,
      maxInflightBytes: o.maxInflightBytes,
      maxUncommittedEntriesSize: o.maxUncommittedEntriesSize,
      maxCommittedSizePerReady: o.maxCommittedSizePerReady,
      checkQuorum: o.checkQuorum,
      preVote: o.preVote,
      disableProposalForwarding: o.disableProposalForwarding,
      asyncStorageWrites: o.asyncStorageWrites,
      rng: new SeededRng((o.seed ?? 1) * 1000 + id),
    };
    o.configure?.(cfg);
    return cfg;
  }

  /** Adds a node; with `peers` it is bootstrapped, else it starts empty (to be added by a conf change). */
  addNode(id: number, peers?: number[]): TestNode {
    const storage = new MemoryStorage();
    const node = new TestNode(id, this.makeConfig(id, storage, 0), storage);
    if (peers !== undefined) node.rn.bootstrap(peers);
    this.nodes.set(id, node);
    return node;
  }

  node(id: number): TestNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  log(line: string): void {
    if (this.recording) this.transcript.push(line);
  }

  // -------------------------------------------------------------- driving

  tick(id: number, n = 1): void {
    this.log(`> tick ${id}${n > 1 ? ` x${n}` : ""}`);
    for (let i = 0; i < n; i++) this.node(id).rn.tick();
  }

  campaign(id: number): void {
    this.log(`> campaign ${id}`);
    this.node(id).rn.campaign();
  }

  propose(id: number, data: string): void {
    this.log(`> propose ${id} "${data}"`);
    this.node(id).rn.propose(new TextEncoder().encode(data));
  }

  proposeConfChange(id: number, cc: ConfChange): void {
    this.log(`> propose-conf-change ${id} type=${cc.type} node=${cc.nodeId}`);
    this.node(id).rn.proposeConfChange(cc);
  }

  isolate(id: number): void {
    this.log(`> isolate ${id}`);
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}-${other}`);
      this.cut.add(`${other}-${id}`);
    }
  }

  cutLink(from: number, to: number): void {
    this.log(`> cut ${from}->${to}`);
    this.cut.add(`${from}-${to}`);
  }

  heal(): void {
    this.log("> heal");
    this.cut.clear();
  }

  /** Handles one Ready of node `id` if it has one; returns whether it did. */
  handleReady(id: number): boolean {
    const node = this.node(id);
    if (!node.rn.hasReady()) return false;
    const rd = node.rn.ready();
    this.log(`> ${id} handling Ready`);
    this.log(formatReady(rd));
    if (this.opts.asyncStorageWrites === true) {
      for (const m of rd.messages) {
        if (m.to === LOCAL_APPEND_THREAD) node.pendingAppends.push(m);
        else if (m.to === LOCAL_APPLY_THREAD) node.pendingApplies.push(m);
        else this.send(m);
      }
      node.readStates.push(...rd.readStates);
      return true;
    }
    this.persist(node, rd.snapshot, rd.entries, rd.hardState);
    for (const m of rd.messages) this.send(m);
    this.apply(node, rd.committedEntries);
    node.readStates.push(...rd.readStates);
    node.rn.advance(rd);
    return true;
  }

  private persist(
    node: TestNode,
    snap: Snapshot | undefined,
    ents: Entry[],
    hs: Ready["hardState"],
  ): void {
    if (snap !== undefined) {
      node.storage.applySnapshot(snap);
      node.snapshotData = snap.data;
      node.appliedIndex = snap.metadata.index;
      node.confState = snap.metadata.confState;
      node.applied = [];
    }
    node.storage.append(ents);
    if (hs !== undefined) node.storage.setHardState(hs);
  }

  private apply(node: TestNode, ents: Entry[]): void {
    for (const e of ents) {
      if (e.type === EntryType.ConfChange) {
        const cs = node.rn.applyConfChange(decodeConfChange(e.data), e.index);
        node.confState = cs;
        node.storage.setConfState(cs);
        this.log(`  ${node.id} applied conf change at ${e.index}: ${formatConfState(cs)}`);
      } else {
        node.applied.push(e);
      }
      node.appliedIndex = e.index;
    }
  }

  /** asyncStorageWrites: carries out up to `n` pending appends of node `id`, stepping their responses. */
  completeAppends(id: number, n = Number.POSITIVE_INFINITY): number {
    const node = this.node(id);
    let done = 0;
    while (done < n && node.pendingAppends.length > 0) {
      const m = node.pendingAppends.shift()!;
      this.log(`> ${id} append thread processing ${formatMessage(m, "  ")}`);
      const hs =
        m.term !== 0 || m.vote !== 0 || m.commit !== 0
          ? { term: m.term, vote: m.vote, commit: m.commit }
          : undefined;
      this.persist(node, m.snapshot, m.entries, hs);
      this.deliverResponses(node, m.responses ?? []);
      done++;
    }
    return done;
  }

  /** asyncStorageWrites: carries out up to `n` pending applies of node `id`. */
  completeApplies(id: number, n = Number.POSITIVE_INFINITY): number {
    const node = this.node(id);
    let done = 0;
    while (done < n && node.pendingApplies.length > 0) {
      const m = node.pendingApplies.shift()!;
      this.log(`> ${id} apply thread processing ${formatMessage(m, "  ")}`);
      this.apply(node, m.entries);
      this.deliverResponses(node, m.responses ?? []);
      done++;
    }
    return done;
  }

  private deliverResponses(node: TestNode, responses: Message[]): void {
    for (const r of responses) {
      if (r.to === node.id) node.rn.step(r);
      else this.send(r);
    }
  }

  private send(m: Message): void {
    this.network.push(m);
    this.sent.push(m);
  }

  /**
   * Handles Readies and delivers messages one round at a time until a message matching
   * `pred` is in flight (it stays there); returns it, or undefined if things settle first.
   */
  runUntil(pred: (m: Message) => boolean, maxRounds = 100): Message | undefined {
    for (let round = 0; round < maxRounds; round++) {
      for (const id of this.nodes.keys()) {
        while (this.handleReady(id));
        if (this.opts.asyncStorageWrites === true) {
          this.completeAppends(id);
          this.completeApplies(id);
          while (this.handleReady(id));
        }
      }
      const hit = this.network.find(pred);
      if (hit !== undefined) return hit;
      if (this.deliver() === 0 && this.network.length === 0) return undefined;
    }
    return undefined;
  }

  /** Delivers in-flight messages (to `to` only, if given), in order; returns how many arrived. */
  deliver(to?: number, filter?: (m: Message) => boolean): number {
    const keep: Message[] = [];
    const now: Message[] = [];
    for (const m of this.network) {
      if ((to === undefined || m.to === to) && (filter === undefined || filter(m))) now.push(m);
      else keep.push(m);
    }
    this.network = keep;
    let n = 0;
    for (const m of now) {
      if (this.cut.has(`${m.from}-${m.to}`)) {
        this.log(`  dropped ${formatMessage(m)}`);
        continue;
      }
      const target = this.nodes.get(m.to);
      if (target === undefined) {
        this.log(`  dropped (no such node) ${formatMessage(m)}`);
        continue;
      }
      this.log(`> ${m.to} receiving ${formatMessage(m)}`);
      try {
        target.rn.step(m);
      } catch (e) {
        // A response from a peer removed meanwhile: an application ignores it.
        if (!isRaftError(e, "step-peer-not-found")) throw e;
        this.log(`  ignored: ${(e as Error).message}`);
      }
      n++;
    }
    return n;
  }

  /** Drops every in-flight message matching `filter` (all if none given). */
  drop(filter?: (m: Message) => boolean): number {
    const before = this.network.length;
    this.network = this.network.filter((m) => {
      const d = filter === undefined || filter(m);
      if (d) this.log(`  dropped ${formatMessage(m)}`);
      return !d;
    });
    return before - this.network.length;
  }

  /** Handles Readies, storage work and deliveries until nothing moves. */
  stabilize(maxRounds = 1000): void {
    for (let round = 0; round < maxRounds; round++) {
      let moved = false;
      for (const id of this.nodes.keys()) {
        while (this.handleReady(id)) moved = true;
        if (this.opts.asyncStorageWrites === true) {
          if (this.completeAppends(id) > 0) moved = true;
          if (this.completeApplies(id) > 0) moved = true;
        }
      }
      if (this.deliver() > 0) moved = true;
      if (this.network.length > 0) {
        // Only messages over cut links remain: they were logged and dropped.
        this.network = [];
      }
      if (!moved) return;
    }
    throw new Error(`cluster did not stabilize within ${maxRounds} rounds`);
  }

  /** Elects `id` (campaign, then stabilize) and checks it won. */
  elect(id: number): void {
    this.campaign(id);
    this.stabilize();
    const st = this.node(id).rn.status();
    if (st.role !== "leader")
      throw new Error(`node ${id} failed to become leader: ${st.role} at term ${st.term}`);
  }

  /**
   * Simulates a crash and restart of `id`: everything not in its MemoryStorage is lost, and
   * a new RawNode starts from the storage with the applied index the state machine kept.
   */
  restart(id: number): TestNode {
    this.log(`> restart ${id}`);
    const old = this.node(id);
    this.network = this.network.filter((m) => m.to !== id && m.from !== id);
    const cfg = this.makeConfig(id, old.storage, old.appliedIndex);
    const fresh = new TestNode(id, cfg, old.storage);
    fresh.applied = old.applied;
    fresh.appliedIndex = old.appliedIndex;
    fresh.confState = old.confState;
    this.nodes.set(id, fresh);
    return fresh;
  }

  /**
   * With `leader` elected: `follower` misses entries that the leader then compacts away, and
   * the leader is run until it sends `follower` a snapshot, left in flight. Returns the
   * snapshot's index.
   */
  snapshotInFlight(leader: number, follower: number): number {
    this.isolate(follower);
    for (let i = 0; i < 3; i++) this.propose(leader, `s${i}`);
    this.stabilize();
    const l = this.node(leader);
    const index = l.appliedIndex;
    l.storage.createSnapshot(index, l.confState, new TextEncoder().encode("snap"));
    l.storage.compact(index);
    this.heal();
    this.tick(leader);
    if (this.runUntil((m) => m.type === MessageType.MsgSnap) === undefined) {
      throw new Error(`leader ${leader} sent no snapshot to ${follower}`);
    }
    return index;
  }

  leader(): number {
    for (const [id, n] of this.nodes) if (n.rn.status().role === "leader") return id;
    return 0;
  }

  /** Messages in flight of one type (for assertions). */
  inFlight(type: MessageType): Message[] {
    return this.network.filter((m) => m.type === type);
  }
}
