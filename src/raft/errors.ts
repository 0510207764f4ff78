// Two kinds of failure leave the core. Expected outcomes (a proposal dropped because there
// is no leader, a read from a compacted index) are `RaftError`s with a code a caller can
// switch on. A broken invariant is an `InvariantViolation`: the node's state can no longer
// be trusted, so it is thrown and meant to crash the process. Both come from the bottom
// layer (src/errors.ts, which imports nothing), shared with every component above.
import { type Invariant, InvariantViolation, invariantOf, RafttoyError } from "../errors/errors.js";

export { InvariantViolation };

export type RaftErrorCode =
  /** A proposal was refused; `reason` says why (no leader, transfer, size limit, ...). */
  | "proposal-dropped"
  /** The requested index is below the log's first index (it was compacted away). */
  | "compacted"
  /** The requested index is above the log's last index. */
  | "unavailable"
  /** The storage cannot produce a snapshot right now; the leader retries later. */
  | "snapshot-temporarily-unavailable"
  /** A local-only message type was handed to `step`. */
  | "step-local-msg"
  /** A response from a peer the node does not know. */
  | "step-peer-not-found"
  /** A configuration value is out of range. */
  | "invalid-config";

export class RaftError extends RafttoyError<RaftErrorCode> {
  readonly reason: string;

  constructor(code: RaftErrorCode, reason = "") {
    super(code, reason === "" ? code : `${code}: ${reason}`);
    this.reason = reason;
  }
}

export function isRaftError(e: unknown, code?: RaftErrorCode): e is RaftError {
  return e instanceof RaftError && (code === undefined || e.code === code);
}

/** Throws an InvariantViolation ("raft invariant violated: ...") when `cond` is false. */
export const invariant: Invariant = invariantOf("raft");
