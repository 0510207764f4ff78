// What the replicated backend (node-backend.ts) needs from the key-value state machine: how a
// write becomes an entry's data, word of every command this node applies (with its result),
// a view to read from, and the members' addresses recorded in the replicated state. The
// backend never decodes entries itself, so the proposal format stays the state machine's.
import type { KvReadView, KvResult, KvWrite } from "./contract.js";

/**
 * Names one proposal across the whole cluster: the node that submitted it recognises its own
 * proposals by id when its state machine applies them, wherever they were forwarded.
 * A non-negative safe integer.
 */
export type ProposalId = number;

/**
 * Where a member can be reached: its client ports and, where the state machine keeps it, its
 * Raft transport address (the backend also learns those from membership changes).
 */
export interface MemberAddresses {
  raft?: string;
  resp?: string;
  http?: string;
}

export interface ServiceStateMachine {
  /** The entry data of `write`, tagged with `id`. */
  encodeWrite(id: ProposalId, write: KvWrite): Uint8Array;
  /** The entry data of a command that records (or replaces) member `member`'s addresses. */
  encodeMember(id: ProposalId, member: number, addresses: MemberAddresses): Uint8Array;
  /**
   * Called for every command this node applies, in log order, once its effect is visible in
   * view(); a member command's result is { kind: "ok" }.
   */
  onApplied(listener: (id: ProposalId, index: number, result: KvResult) => void): void;
  /** Called whenever a member's recorded addresses change (applied, or restored from a snapshot). */
  onMember(listener: (member: number, addresses: MemberAddresses) => void): void;
  /** The state as applied so far on this node. */
  view(): KvReadView;
  /** Every member's recorded addresses. */
  members(): ReadonlyMap<number, MemberAddresses>;
}
