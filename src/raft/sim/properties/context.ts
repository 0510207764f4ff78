// What every property of properties/ sees: the run's world and the cluster settings the
// node I/O drew for it, plus the small helpers they share. A property is one class with
// one job; the fan-out in index.ts calls the hooks each property implements.
import type { Status } from "../../api.js";
import type { Message } from "../../types.js";
import type { SimNode } from "../sim-node.js";
import type { SimWorld } from "../world.js";

export interface PropertyContext {
  readonly world: SimWorld;
  /** Whether the run's nodes use check-quorum. */
  readonly checkQuorum: boolean;
  /** Ticks of an election timeout (the shortest; randomized timeouts go up to twice it). */
  readonly electionTick: number;
}

/** The node's state before the event that was just observed. */
export interface Before {
  wasLeader: boolean;
  term: number;
  commit: number;
}

/** The hooks a property may implement; node I/O and the workload call them. */
export interface Property {
  /** A network message is about to be stepped into `node` (whose state is still the old one). */
  delivered?(node: SimNode, m: Message): void;
  /** After any event on `node`: its status now, and what it was before the event. */
  observed?(node: SimNode, st: Status, before: Before): void;
  /** `node`'s core applied a conf change (its configuration may have changed). */
  confApplied?(node: SimNode): void;
  /** A client issues read `readId` on `node` (before the call into the core). */
  readIssued?(node: SimNode, readId: number): void;
  /** Read `readId` came out of `node`'s Ready as a read state. */
  readAnswered?(node: SimNode, readId: number): void;
  /** A message leaves for the network. */
  sent?(m: Message): void;
  /** Every up node ticked once; world.ticks counts it. */
  ticked?(): void;
  /** A client asks `leader` to hand leadership to `to` (before the call into the core). */
  transferRequested?(leader: SimNode, to: number): void;
}

/** Votes needed among `n` voters. */
export function quorum(n: number): number {
  return (n >> 1) + 1;
}

/** The voters of the configuration the node's core has in force. */
export function votersOf(node: SimNode): number[] {
  return node.raw === undefined ? [] : node.raw.confState().voters;
}

/**
 * Whether the cluster is healthy under `leader`: the leader transfers to no one and has
 * applied every conf change it handed out (none can remove it later), and every up node
 * that could campaign (a voter in its own configuration) is a member of the leader's
 * configuration and follows it in its term. A node removed without knowing it, or one
 * that has not heard of the leader, may legitimately start elections.
 */
export function healthyUnder(w: SimWorld, leader: SimNode): boolean {
  if (leader.leadTransferee !== 0 || leader.sm.index < leader.lastConfIndex) return false;
  const cs = leader.raw!.confState();
  for (const n of w.nodes) {
    if (!n.up || n === leader) continue;
    const member = cs.voters.includes(n.id) || cs.learners.includes(n.id);
    if (member && n.term === leader.term && n.lead === leader.id) continue;
    if (!n.raw!.confState().voters.includes(n.id)) continue; // cannot campaign
    return false;
  }
  return true;
}
