// The bottom layer of errors (src/errors/, below the core): it imports nothing, so every layer (the consensus core
// included) can use it without an arrow running upward.
//
// Two kinds of failure exist. An expected one (bad input, a full disk, a peer that speaks
// another protocol, a proposal refused) is a `RafttoyError`: its `code` is one of its
// component's union (WalErrorCode, WireErrorCode, ...), so a caller switches on the code
// instead of matching the message, and the message stays the one-line text the user reads.
// A broken invariant is an `InvariantViolation`: the process's state can no longer be
// trusted, so it is thrown and meant to crash it.

/** An expected failure of one component, with a code from that component's union. */
export class RafttoyError<C extends string = string> extends Error {
  readonly code: C;

  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** True when `err` is a RafttoyError, with `code` when one is given. */
export function hasErrorCode<C extends string>(err: unknown, code?: C): err is RafttoyError<C> {
  return err instanceof RafttoyError && (code === undefined || err.code === code);
}

/** What is wrong with the user's input; every binary prints the message and exits 2. */
export type UsageErrorCode =
  /** An unknown, repeated or missing flag, or an unexpected argument. */
  | "bad-flag"
  /** A flag's value that does not parse or is out of range. */
  | "bad-value"
  /** A path the binary cannot use (--json, --data-dir). */
  | "bad-path"
  /** An input file that cannot be read or is not what it should be. */
  | "bad-input-file";

/** The exit code for bad flags or values. */
export const USAGE_EXIT_CODE = 2;

/** Bad command-line input: its message is the one line shown to the user. */
export class UsageError extends RafttoyError<UsageErrorCode> {
  readonly exitCode = USAGE_EXIT_CODE;

  constructor(message: string, code: UsageErrorCode = "bad-value") {
    super(code, message);
  }
}

/** A broken invariant of `component` (raft, wal, transport, pipeline, ...). */
export class InvariantViolation extends Error {
  override readonly name = "InvariantViolation";
  readonly component: string;
  readonly invariant: string;

  constructor(component: string, invariant: string, detail: string) {
    super(`${component} invariant violated: ${invariant}: ${detail}`);
    this.component = component;
    this.invariant = invariant;
  }
}

/**
 * Throws an InvariantViolation naming the invariant when `cond` is false. `detail` runs
 * only then, so a hot path pays for one test and no string.
 */
export type Invariant = (cond: boolean, name: string, detail: () => string) => asserts cond;

/** The `invariant` of one component: `const invariant: Invariant = invariantOf("wal")`. */
export function invariantOf(component: string): Invariant {
  return (cond, name, detail) => {
    if (!cond) throw new InvariantViolation(component, name, detail());
  };
}
