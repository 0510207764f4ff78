// The transport's coded errors: what a caller or a test switches on instead of the text.
import { type Invariant, invariantOf, RafttoyError } from "../errors/errors.js";

/** Bytes on the wire that are not this protocol, or a value the wire cannot carry. */
export type WireErrorCode =
  /** A RaftBatch that does not parse: truncated, a bad varint, an unsupported wire type. */
  | "malformed-batch"
  /** A value above Number.MAX_SAFE_INTEGER on the wire. */
  | "unsafe-integer"
  /** A value to encode that is not a non-negative safe integer. */
  | "unencodable-value"
  /** A TCP frame that breaks the framing: no kind byte, too large, of unknown kind. */
  | "bad-frame"
  /** A TCP connection that did not open with a valid hello. */
  | "bad-hello"
  /** A TCP hello naming ends that do not match this peer and its peer list. */
  | "wrong-peer";

/** Malformed bytes on the wire, or a value the wire cannot carry. */
export class WireFormatError extends RafttoyError<WireErrorCode> {}

/** What goes wrong using a transport, as opposed to what arrives on it. */
export type TransportErrorCode =
  /** start() on a stopped transport. */
  | "stopped"
  /** start() twice. */
  | "already-started"
  /** The listener could not bind its address (in use, not local). */
  | "listen-failed"
  /** A second transport for one node on one local network. */
  | "duplicate-node"
  /** An address that is not host:port, or an id missing from the peer list. */
  | "bad-address"
  /** A transport name no registry knows. */
  | "unknown-transport"
  /** The proto/ folder (or what it should define) is missing. */
  | "proto-missing"
  /** A --net-delay that is not a delay with an optional jitter below it. */
  | "bad-delay";

export class TransportError extends RafttoyError<TransportErrorCode> {}

/** Throws "transport invariant violated: ..." when a transport's own bookkeeping is wrong. */
export const invariant: Invariant = invariantOf("transport");
