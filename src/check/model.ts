// What the checker needs to know about the object a history talks to: a sequential
// specification, one step at a time. States are strings so that a configuration (which
// operations are linearized + the state) can be remembered and compared cheaply.

export interface Model<Input, Output> {
  /** The state before any operation. */
  readonly initial: string;
  /**
   * Applies `input` to `state`. With `output` given (a completed operation's reply) returns
   * the next state only if the specification could have replied exactly that; with
   * `output` undefined (an indeterminate operation, or a reply not recorded) returns the
   * next state whatever the reply would have been. undefined = impossible here.
   */
  step(state: string, input: Input, output: Output | undefined): string | undefined;
  /** A readable form of a state, for reports. */
  describe(state: string): string;
}
