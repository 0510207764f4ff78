// The clients of a simulated cluster: proposals (single and batched), linearizable reads,
// single-server membership changes, leadership transfers and forced campaigns, aimed mostly
// at the leader. Proposal payloads carry a sequence number, so the workload can count each
// committed proposal once and tell whether one made after the faults stopped was applied
// (the run's liveness check).
import { type ConfChange, ConfChangeType, type Entry, EntryType } from "../types.js";
import type { NodeIo } from "./node-io.js";
import type { SimNode } from "./sim-node.js";
import type { SimWorld } from "./world.js";

/** Proposal payloads start with this many bytes: a sequence number (for liveness). */
const SEQ_BYTES = 4;

/** Refusals a client sees in normal operation (no leader, transfer, pending change, ...). */
const PROPOSE_REFUSALS = ["proposal-dropped"];

export class Workload {
  private readonly w: SimWorld;
  private readonly io: NodeIo;
  /** Client proposals applied (each counted once, on the first node that applied it). */
  commits = 0;
  private highestApplied = 0;
  private nextSeq = 1;
  private nextReadId = 1;
  private quietFirstSeq = Number.POSITIVE_INFINITY;
  /** A proposal made after the faults stopped has been applied. */
  livenessMet = false;

  constructor(world: SimWorld, io: NodeIo) {
    this.w = world;
    this.io = io;
  }

  /** The faults stop: from now on a proposal must get through (see livenessMet). */
  faultsStopped(): void {
    this.quietFirstSeq = this.nextSeq;
  }

  /** One client operation, chosen at random. */
  clientOp(): void {
    const r = this.w.rng.intn(100);
    if (r < 70) this.propose();
    else if (r < 88) this.read();
    else if (this.w.still) {
      // No faults of any kind in a still stretch: no membership changes or forced
      // campaigns, but a transfer now and then (it must complete promptly).
      if (r < 91) this.transferLeadership();
      else this.propose();
    } else if (r < 95) this.changeMembership();
    else if (r < 98) this.transferLeadership();
    else this.forceCampaign();
  }

  /** Counts each committed proposal once, on the first node that applies it. */
  applied(index: number, e: Entry | undefined): void {
    if (index <= this.highestApplied) return;
    this.highestApplied = index;
    if (e === undefined || e.type !== EntryType.Normal || e.data.length < SEQ_BYTES) return;
    this.commits++;
    if (this.w.quiet && seqOf(e.data) >= this.quietFirstSeq) this.livenessMet = true;
  }

  /**
   * Mostly the leader, sometimes any node (proposals and reads are forwarded); and, as
   * clients cut off with them would, a stale leader or a node on the minority side of a
   * partition. A stale leader appends what it is given: the long divergent tails of the
   * Raft paper's Figure 7.
   */
  private clientTarget(): SimNode | undefined {
    const rng = this.w.rng;
    const aim = rng.intn(10);
    if (aim < 2) {
      const stale = this.w.staleLeaders();
      if (stale.length > 0) return stale[rng.intn(stale.length)];
    } else if (aim === 2) {
      const minority = this.w.minoritySide.map((id) => this.w.node(id)).filter((n) => n.up);
      if (minority.length > 0) return minority[rng.intn(minority.length)];
    }
    const leader = this.w.leader();
    if (leader !== undefined && rng.intn(5) !== 0) return leader;
    return this.w.randomUpNode();
  }

  private propose(): void {
    const node = this.clientTarget();
    if (node === undefined) return;
    // Stale leaders get bigger batches, so their divergent tails grow long.
    const stale = node.isLeader && node !== this.w.leader();
    const count = 1 + this.w.rng.intn(stale ? 8 : 3);
    const datas: Uint8Array[] = [];
    for (let i = 0; i < count; i++) datas.push(this.payload());
    this.w.note(node.id, `propose ${count} (seq ${seqOf(datas[0]!)}..)`);
    const raw = node.raw!;
    if (count === 1) {
      this.io.core(node, "propose", () => raw.propose(datas[0]!), PROPOSE_REFUSALS);
    } else {
      this.io.core(node, "proposeBatch", () => raw.proposeBatch(datas), PROPOSE_REFUSALS);
    }
    this.io.afterEvent(node);
  }

  private payload(): Uint8Array {
    const rng = this.w.rng;
    const data = new Uint8Array(SEQ_BYTES + rng.intn(40));
    new DataView(data.buffer).setUint32(0, this.nextSeq++, true);
    for (let i = SEQ_BYTES; i < data.length; i++) data[i] = rng.intn(256);
    return data;
  }

  private read(): void {
    const node = this.clientTarget();
    if (node === undefined) return;
    const readId = this.nextReadId++;
    const ctx = new Uint8Array(4);
    new DataView(ctx.buffer).setUint32(0, readId, true);
    this.w.note(node.id, `read ${readId}`);
    this.w.checker.readIssued(readId);
    this.io.props.readIssued(node, readId);
    this.io.core(node, "readIndex", () => node.raw!.readIndex(ctx), PROPOSE_REFUSALS);
    this.io.afterEvent(node);
  }

  /** A single-server change chosen from the leader's applied configuration. */
  private changeMembership(): void {
    const leader = this.w.leader();
    if (leader === undefined) return;
    const ids = this.w.ids;
    const { voters, learners } = leader.sm.confState;
    const others = ids.filter((id) => !voters.includes(id) && !learners.includes(id));
    const minVoters = ids.length >= 4 ? 3 : Math.min(2, ids.length);
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
    const change = options[this.w.rng.intn(options.length)]!;
    this.w.note(leader.id, `propose conf change ${confChangeName(change)}`);
    this.io.core(
      leader,
      "proposeConfChange",
      () => leader.raw!.proposeConfChange(change),
      PROPOSE_REFUSALS,
    );
    this.io.afterEvent(leader);
  }

  private transferLeadership(): void {
    const leader = this.w.leader();
    if (leader === undefined) return;
    const targets = leader.sm.confState.voters.filter((id) => id !== leader.id);
    if (targets.length === 0) return;
    const to = targets[this.w.rng.intn(targets.length)]!;
    this.w.note(leader.id, `transfer leadership to ${to}`);
    this.io.props.transferRequested(leader, to);
    this.io.core(leader, "transferLeader", () => leader.raw!.transferLeader(to), PROPOSE_REFUSALS);
    this.io.afterEvent(leader);
  }

  private forceCampaign(): void {
    const node = this.w.randomUpNode();
    if (node === undefined) return;
    this.w.note(node.id, "campaign");
    this.io.core(node, "campaign", () => node.raw!.campaign());
    this.io.afterEvent(node);
  }
}

function seqOf(data: Uint8Array): number {
  return new DataView(data.buffer, data.byteOffset, data.byteLength).getUint32(0, true);
}

/** The read id a read's request context carries (-1: not one of the workload's reads). */
export function readIdOf(ctx: Uint8Array): number {
  if (ctx.length !== 4) return -1;
  return seqOf(ctx);
}

function confChangeName(cc: ConfChange): string {
  const names = ["add", "remove", "update", "add-learner"];
  return `${names[cc.type] ?? cc.type} ${cc.nodeId}`;
}
