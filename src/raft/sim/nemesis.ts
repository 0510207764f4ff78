// The nemesis: the faults of a simulation run. Message loss, duplication, delay and
// reordering are set on the network; partitions (symmetric or one-way, healing after a
// while), crashes with restarts, and compaction with snapshot catch-up are struck here.
// They come in alternating storms and calms (the scheduler's weather), and some are aimed
// at a leader right after it is elected or commits, the moments uniform randomness rarely
// hits (see leaderSeen). When the faults stop, partitions heal and crashed nodes restart.
import { MessageType } from "../types.js";
import { Figure8 } from "./figure8.js";
import { type NetworkFaults, NO_NETWORK_FAULTS } from "./network.js";
import type { NodeIo } from "./node-io.js";
import type { SimNode } from "./sim-node.js";
import type { SimWorld } from "./world.js";

export class Nemesis {
  private readonly w: SimWorld;
  private readonly io: NodeIo;
  crashes = 0;
  partitions = 0;
  private healAt = 0;
  /** A leader picked for a fault at a delicate moment (0: none), and when. */
  private target = 0;
  private strikeAt = 0;
  /** The message faults the run asked for (off in still stretches). */
  private readonly messageFaults: NetworkFaults;
  /** The Figure 8 episodes (figure8.ts), begun at some storms. */
  readonly figure8: Figure8;

  constructor(world: SimWorld, io: NodeIo) {
    this.w = world;
    this.io = io;
    const f = world.opts.faults;
    this.messageFaults = {
      drop: f.has("drop") ? 0.02 : 0,
      dup: f.has("dup") ? 0.02 : 0,
      delay: f.has("reorder") ? 0.05 : 0,
      maxDelay: 200,
      reorderWindow: f.has("reorder") ? 4 : 1,
    };
    world.network.faults = this.messageFaults;
    this.figure8 = new Figure8(world);
  }

  /** A storm begins: with partitions allowed, a third of them play Figure 8 first. */
  stormBegins(): void {
    if (this.w.still || !this.w.opts.faults.has("partition")) return;
    if (this.w.rng.intn(3) === 0) this.figure8.begin();
  }

  /** The start of every step: heal a partition, restart crashed nodes, strike if due. */
  due(): void {
    const w = this.w;
    this.figure8.due();
    if (!this.figure8.active && w.network.partitioned && w.now >= this.healAt) {
      w.network.healAll();
      w.minoritySide = [];
      w.note(0, "partition healed");
    }
    for (const node of w.nodes) {
      if (!node.up && w.now >= node.restartAt) this.restart(node);
    }
    if (this.target !== 0 && w.now >= this.strikeAt) this.strike();
  }

  /**
   * A still stretch begins: no more message faults, partitions heal, crashed nodes
   * restart, and no fault strikes until it ends (the quiet phase is one that never ends).
   */
  beginStill(): void {
    const w = this.w;
    if (w.still) return;
    w.still = true;
    w.stillSince = w.now;
    w.stillEpoch++;
    this.target = 0;
    this.figure8.abort();
    w.network.faults = NO_NETWORK_FAULTS;
    w.network.healAll();
    w.minoritySide = [];
    for (const node of w.nodes) if (!node.up) this.restart(node);
    w.note(0, "still stretch begins");
  }

  /** A still stretch ends (never the quiet phase): the message faults resume. */
  endStill(): void {
    const w = this.w;
    if (!w.still || w.quiet) return;
    w.still = false;
    w.stillEpoch++;
    w.network.faults = this.messageFaults;
    w.note(0, "still stretch ends");
  }

  /** The faults stop for good (the quiet phase). */
  stop(): void {
    this.beginStill();
  }

  /** One fault, of a kind the run allows (none in a still stretch). */
  faultOp(): void {
    if (this.w.still || this.figure8.active) return;
    const f = this.w.opts.faults;
    const kinds: (() => void)[] = [];
    if (f.has("partition")) kinds.push(() => this.partition());
    if (f.has("crash")) kinds.push(() => this.crashOne());
    if (kinds.length === 0) return;
    kinds[this.w.rng.intn(kinds.length)]!();
  }

  /**
   * Uniformly random faults rarely land in the few steps that matter most: right after a
   * leader is elected (before its first entry is replicated) and right after it commits
   * (before followers learn of it). Sometimes a fault is aimed at those moments.
   */
  leaderSeen(leader: SimNode, elected: boolean, committed: boolean): void {
    if (this.w.still) return;
    if (this.figure8.active) {
      this.figure8.leaderSeen(leader, elected, committed);
      return;
    }
    if (this.target !== 0) return;
    const f = this.w.opts.faults;
    if (!f.has("crash") && !f.has("partition")) return;
    const odds = elected ? 2 : committed ? 16 : 0;
    if (odds === 0 || this.w.rng.intn(odds) !== 0) return;
    this.target = leader.id;
    this.strikeAt = this.w.now + this.w.rng.intn(6);
  }

  /** Snapshots the state machine into the storage and drops most of the log below it. */
  compactOne(): void {
    if (!this.w.opts.faults.has("compact")) return;
    const node = this.w.randomUpNode();
    if (node === undefined) return;
    const storage = node.storage;
    const sm = node.sm;
    if (sm.index <= storage.snapshot().metadata.index) return;
    // With asyncStorageWrites the state machine may run ahead of the durable commit index;
    // a snapshot past it would leave a storage the core cannot restart from. Wait.
    if (sm.index > storage.initialState().hardState.commit) return;
    this.w.note(node.id, `compact at ${sm.index}`);
    // After a restart the core hands out entries the state machine already has; those must
    // stay in the log until the core has handed them out again.
    const coreApplied = node.raw!.status().applied;
    const to = Math.min(sm.index - this.w.rng.intn(8), coreApplied);
    this.io.core(node, "storage.createSnapshot", () => {
      storage.createSnapshot(sm.index, sm.confState, sm.image());
      if (to >= storage.firstIndex()) storage.compact(to);
    });
  }

  private strike(): void {
    const node = this.w.node(this.target);
    this.target = 0;
    if (this.w.still || this.figure8.active || !node.up || !node.isLeader) return;
    const f = this.w.opts.faults;
    const canCrash = f.has("crash") && this.mayCrash(node);
    // May add to a partition already in place: the layered cuts heal together.
    const canCut = f.has("partition") && this.w.ids.length > 1;
    if (canCrash && (!canCut || this.w.rng.intn(2) === 0)) this.crash(node);
    else if (canCut) this.cutOff([node.id], this.w.rng.intn(2) === 0);
  }

  /** The side without a majority of the latest applied configuration's voters. */
  private minorityOf(side: number[], rest: number[]): number[] {
    let latest = this.w.nodes[0]!.sm;
    for (const n of this.w.nodes) if (n.sm.index > latest.index) latest = n.sm;
    const voters = latest.confState.voters;
    const need = (voters.length >> 1) + 1;
    const inSide = voters.filter((id) => side.includes(id)).length;
    return inSide >= need ? rest : side;
  }

  /**
   * A partition of one of several shapes. Besides random cuts, the shapes of the Raft
   * paper's Figure 7: a leader cut off alone for long, so that it keeps accepting the
   * proposals clients aim at it (workload.ts) and builds a long divergent tail; the leader
   * and the learners cut off together from the majority of voters; a follower cut off for
   * long, so that it lags inside the common prefix while the rest commit.
   */
  private partition(): void {
    const { ids, rng } = this.w;
    if (this.w.network.partitioned || ids.length < 2) return;
    const leader = this.w.leader();
    const shape = leader === undefined ? 0 : rng.intn(6);
    let side: number[];
    let oneWay = rng.intn(2) === 0;
    let long = false;
    switch (shape) {
      case 1:
      case 2:
        // Cutting the leader off is what forces elections.
        side = [leader!.id];
        break;
      case 3: {
        const learners = leader!.raw!.confState().learners;
        side = [leader!.id, ...learners.filter((id) => id !== leader!.id)];
        oneWay = false;
        break;
      }
      case 4: {
        const followers = ids.filter((id) => id !== leader!.id);
        side = [followers[rng.intn(followers.length)]!];
        long = true;
        break;
      }
      case 5:
        side = [leader!.id];
        oneWay = false;
        long = true;
        break;
      default:
        side = ids.filter(() => rng.intn(2) === 0);
    }
    if (side.length === 0 || side.length === ids.length) return;
    this.cutOff(side, oneWay, long);
  }

  /**
   * Partitions `side` from the rest, both ways or one way, until a random heal time (a
   * long one lasts several election timeouts more).
   */
  private cutOff(side: number[], oneWay: boolean, long = false): void {
    const { network, rng } = this.w;
    const layered = network.partitioned;
    const rest = this.w.ids.filter((id) => !side.includes(id));
    for (const a of side) {
      for (const b of rest) {
        network.block(a, b);
        if (!oneWay) network.block(b, a);
      }
    }
    const healAt = this.w.now + (long ? 2000 + rng.intn(4000) : 200 + rng.intn(3000));
    this.healAt = layered ? Math.max(this.healAt, healAt) : healAt;
    this.w.minoritySide = this.minorityOf(side, rest);
    this.partitions++;
    this.w.note(0, `partition ${oneWay ? "one-way" : "symmetric"} [${side}] | [${rest}]`);
  }

  private crashOne(): void {
    // Leader crashes are the interesting ones; half of the crashes hit the leader.
    const leader = this.w.leader();
    const node = leader !== undefined && this.w.rng.intn(2) === 0 ? leader : this.w.randomUpNode();
    if (node !== undefined && this.mayCrash(node)) this.crash(node);
  }

  /**
   * A crash may not take down a majority of the nodes, nor of the voters of the latest
   * applied configuration: the run is meant to keep committing between faults.
   */
  private mayCrash(node: SimNode): boolean {
    const nodes = this.w.nodes;
    const down = nodes.filter((n) => !n.up).length;
    if (down >= Math.floor((this.w.ids.length - 1) / 2)) return false;
    let latest = nodes[0]!.sm;
    for (const n of nodes) if (n.sm.index > latest.index) latest = n.sm;
    const voters = latest.confState.voters;
    if (!voters.includes(node.id)) return true;
    const votersDown = voters.filter((id) => !this.w.node(id).up).length;
    return votersDown + 1 <= Math.floor((voters.length - 1) / 2);
  }

  private crash(node: SimNode): void {
    node.crash();
    for (const lost of this.w.network.clearInbox(node.id)) {
      if (lost.type !== MessageType.MsgSnap) continue;
      const sender = this.w.node(lost.from);
      this.io.reportSnapshot(sender, node.id, false);
      this.io.afterEvent(sender);
    }
    this.w.checker.crashed(node.id);
    node.restartAt = this.w.now + 100 + this.w.rng.intn(600);
    this.crashes++;
    this.w.note(node.id, "crash");
  }

  private restart(node: SimNode): void {
    this.w.note(node.id, "restart");
    this.io.startNode(node);
    this.io.afterEvent(node);
  }
}
