// The Peer's coded errors and its invariant. Refused proposals are ProposalErrors
// (proposal-tracker.ts); these are the Peer's own.
import { type Invariant, invariantOf, RafttoyError } from "../errors/errors.js";

export type PeerErrorCode =
  /** This peer's id is not in its peer list. */
  | "not-a-member"
  /** newEpoch() on a peer that does not own the epochs (a follower). */
  | "not-epoch-owner"
  /** A service-mode request (ReadIndex round, membership change) on a benchmark peer. */
  | "not-service-mode"
  /** No leadership within the wait: the other peers are down or unreachable. */
  | "no-leader"
  /** The followers did not catch up within the wait. */
  | "not-caught-up"
  /** The stored epoch does not parse. */
  | "damaged-epoch-file";

export class PeerError extends RafttoyError<PeerErrorCode> {}

/** Throws "peer invariant violated: ..." when the Peer's own bookkeeping is wrong. */
export const invariant: Invariant = invariantOf("peer");
