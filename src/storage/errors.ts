// The storage layer's coded errors (WAL and engine) and its invariant. A fault of the
// environment the user must fix (full disk, failed write, damaged file) is a StorageFault
// (storage-fault.ts); everything here is either a caller's mistake or a damaged log.
import { type Invariant, InvariantViolation, invariantOf, RafttoyError } from "../errors/errors.js";

export { InvariantViolation };

export type WalErrorCode =
  /** A call on a closed log, or on an I/O thread already stopped. */
  | "closed"
  /** A write or fdatasync failed; `errno` says how. */
  | "io-failed"
  /** A record does not check out (see WalCorruptionError). */
  | "corrupt"
  /** The log cannot be rebuilt from its files: a segment or a term is missing. */
  | "unrecoverable"
  /** The data directory cannot be created or written. */
  | "unusable-dir"
  /** A WAL name no registry knows. */
  | "unknown-wal";

export class WalError extends RafttoyError<WalErrorCode> {
  /** The errno code (EIO, ENOSPC, ...) of the system call that failed, if one did. */
  readonly errno: string | undefined;

  constructor(
    code: WalErrorCode,
    message: string,
    options?: { errno?: string | undefined; cause?: unknown },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.errno = options?.errno;
  }
}

/** A record that fails its checks before the log's tail: the file and where. */
export class WalCorruptionError extends WalError {
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
  ) {
    super("corrupt", `wal: ${file} is corrupt at offset ${offset}: ${detail}`);
  }
}

export type EngineErrorCode =
  /** A call on a closed engine. */
  | "closed"
  /** A committed entry the engine cannot apply. */
  | "apply-failed"
  /** Snapshot bytes that do not parse. */
  | "malformed-snapshot"
  /** An engine name no registry knows. */
  | "unknown-engine";

export class EngineError extends RafttoyError<EngineErrorCode> {}

export type DataDirErrorCode =
  /** The node's identity file does not parse. */
  | "damaged-identity"
  /** The directory cannot be written. */
  | "not-writable"
  /** The directory holds files but no rafttoy node. */
  | "foreign-files"
  /** The directory holds another node or cluster. */
  | "other-node"
  /** Another live process holds the directory's lock, or a stale lock cannot be taken over. */
  | "locked"
  /** The log and the state machine do not meet: entries between them are lost. */
  | "log-gap";

/** A data directory this node cannot use as it is: the message says what to change. */
export class DataDirError extends RafttoyError<DataDirErrorCode> {}

/** Throws "storage invariant violated: ..." when a WAL or engine breaks its own contract. */
export const invariant: Invariant = invariantOf("storage");
