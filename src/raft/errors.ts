// Two kinds of failure leave the core. Expected outcomes (a proposal dropped because there
// is no leader, a read from a compacted index) are `RaftError`s with a code a caller can
// switch on. A broken invariant is an `InvariantViolation`: the node's state can no longer
// be trusted, so it is thrown and meant to crash the process.

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

export class RaftError extends Error {
  readonly code: RaftErrorCode;
  readonly reason: string;

  constructor(code: RaftErrorCode, reason = "") {
    super(reason === "" ? code : `${code}: ${reason}`);
    this.name = "RaftError";
    this.code = code;
    this.reason = reason;
  }
}

export function isRaftError(e: unknown, code?: RaftErrorCode): e is RaftError {
  return e instanceof RaftError && (code === undefined || e.code === code);
}

export class InvariantViolation extends Error {
  readonly invariant: string;

  constructor(invariant: string, detail: string) {
    super(`raft invariant violated: ${invariant}: ${detail}`);
    this.name = "InvariantViolation";
    this.invariant = invariant;
  }
}

/** Throws an InvariantViolation naming `invariant` when `cond` is false. */
export function invariant(cond: boolean, name: string, detail: () => string): asserts cond {
  if (!cond) throw new InvariantViolation(name, detail());
}
