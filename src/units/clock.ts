// Time and scheduling behind one interface, for the Peer and what it owns (ticker, leader
// waiting, quorum watch, catch-up reports, latency recording), the pipelines (append and
// apply latencies) and the in-process transport (delivery turns), so that the whole-node
// simulator (src/peer-sim/) runs all of them on virtual time. It sits in the bottom layer
// because every one of those layers takes it. The real default below is the only code on
// that path that reads the system clock or schedules with Node's timers.

/** An opaque handle for a pending timeout. */
export type TimerHandle = { readonly __timer: unique symbol };

export interface Clock {
  /** Milliseconds, monotonic, fractional; only differences mean anything. */
  now(): number;
}

export interface Scheduler extends Clock {
  /**
   * Runs `fn` once after `ms`. With `background`, the pending timeout does not keep the
   * process alive (a ticker or a watch that must not hold up an exit).
   */
  setTimeout(fn: () => void, ms: number, opts?: { background?: boolean }): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Runs `fn` after pending I/O callbacks have had their turn (Node: setImmediate). */
  soon(fn: () => void): void;
}

/** The system's clock and Node's timers. */
export const realScheduler: Scheduler = {
  now: () => performance.now(),
  setTimeout(fn, ms, opts) {
    const t = setTimeout(fn, ms);
    if (opts?.background === true) t.unref();
    return t as unknown as TimerHandle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as unknown as NodeJS.Timeout);
  },
  soon(fn) {
    setImmediate(fn);
  },
};

/** Resolves after pending I/O callbacks have run. */
export function nextTurn(s: Scheduler): Promise<void> {
  return new Promise<void>((resolve) => s.soon(resolve));
}

/** Resolves after `ms`. */
export function sleep(s: Scheduler, ms: number): Promise<void> {
  return new Promise<void>((resolve) => s.setTimeout(resolve, ms));
}

/**
 * Calls `fn` every `ms` until the returned function is called: chained timeouts (each
 * scheduled when the previous one fired), which a virtual clock can run as easily as a real
 * one. Background: it never keeps the process alive.
 */
export function every(s: Scheduler, ms: number, fn: () => void): () => void {
  let handle: TimerHandle | undefined;
  let cancelled = false;
  const fire = () => {
    if (cancelled) return;
    handle = s.setTimeout(fire, ms, { background: true });
    fn();
  };
  handle = s.setTimeout(fire, ms, { background: true });
  return () => {
    cancelled = true;
    if (handle !== undefined) s.clearTimeout(handle);
  };
}
