import type { Recorder } from "../metrics/metrics.js";
import type { Benchtime } from "./benchtime.js";
import { type MakePayload, proposalPayloadMaker } from "./payload.js";

/** What the workload drives: the leader's Peer, or a fake in tests. */
export interface Proposer {
  propose(data: Uint8Array): Promise<void>;
}

/** Counters the workload updates while it runs, for progress reports. */
export interface WorkloadProgress {
  issued: number;
  completed: number;
  failed: number;
}

export interface WorkloadOptions {
  proposer: Proposer;
  /** Size of each proposal's data. */
  bytes: number;
  benchtime: Benchtime;
  /** Receives each successful proposal's latency in ns. */
  latency: Recorder;
  makePayload?: MakePayload;
  progress?: WorkloadProgress;
}

export interface ClosedLoopOptions extends WorkloadOptions {
  /** Workers, each with one proposal in flight at a time. */
  conc: number;
}

export interface OpenLoopOptions extends WorkloadOptions {
  /** Proposals per second, issued whether or not earlier ones have completed. */
  rate: number;
  /** How often the issuing timer fires, in ms (default 1). */
  tickMs?: number;
  /**
   * Proposals allowed in flight at once (default: one second's worth, at least 10,000). Beyond
   * it a due proposal is not issued but counted as dropped, so an overloaded cluster shows up
   * as drops instead of as unbounded memory.
   */
  maxInFlight?: number;
}

export interface WorkloadResult {
  issued: number;
  completed: number;
  failed: number;
  /** Failed or dropped proposals by reason (an error's code and reason, or its message). */
  failures: Record<string, number>;
  /** From the first proposal issued to the last one settled, in ms. */
  elapsedMs: number;
}

export const IN_FLIGHT_LIMIT_REASON = "open-loop in-flight limit reached";

// Distinct reasons kept before the rest are lumped together, so a message with a varying
// detail (an index, a size) cannot grow the table without bound.
const MAX_REASONS = 32;
const OTHER_REASONS = "other reasons";

/** The key a failure is counted under: RaftError-style `code`/`reason`, else name and message. */
export function failureReason(error: unknown): string {
  if (typeof error === "object" && error !== null) {
    const { code, reason } = error as { code?: unknown; reason?: unknown };
    const hasCode = typeof code === "string" || typeof code === "number";
    const hasReason = typeof reason === "string" && reason !== "";
    if (hasCode && hasReason) return `${code}: ${reason}`;
    if (hasCode) return String(code);
    if (hasReason) return reason;
    if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 120);
  }
  return String(error).slice(0, 120);
}

class Tally {
  readonly failures: Record<string, number> = {};
  private reasons = 0;

  add(reason: string, n = 1): void {
    let key = reason;
    if (this.failures[key] === undefined) {
      if (this.reasons === MAX_REASONS) key = OTHER_REASONS;
      else this.reasons++;
    }
    this.failures[key] = (this.failures[key] ?? 0) + n;
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function validate(opts: WorkloadOptions): void {
  if (!Number.isSafeInteger(opts.bytes) || opts.bytes < 0) {
    throw new RangeError(`bytes must be a whole number >= 0, got ${opts.bytes}`);
  }
}

/**
 * Closed loop: `conc` workers, each proposing back to back (the next proposal is issued when
 * the previous one settles). Runs for the benchtime: until the deadline (proposals in flight
 * then finish and count), or until the given number of proposals has been issued.
 */
export async function runClosedLoop(opts: ClosedLoopOptions): Promise<WorkloadResult> {
  validate(opts);
  if (!Number.isSafeInteger(opts.conc) || opts.conc < 1) {
    throw new RangeError(`conc must be a whole number >= 1, got ${opts.conc}`);
  }
  const { proposer, bytes, benchtime, latency } = opts;
  const makePayload = opts.makePayload ?? proposalPayloadMaker();
  const progress = opts.progress ?? { issued: 0, completed: 0, failed: 0 };
  const tally = new Tally();
  const start = performance.now();
  const deadline = benchtime.kind === "duration" ? start + benchtime.ms : Infinity;
  const quota = benchtime.kind === "count" ? benchtime.proposals : Infinity;

  const worker = async (workerId: number): Promise<void> => {
    let now = performance.now();
    for (let seq = 0; now < deadline && progress.issued < quota; seq++) {
      progress.issued++;
      const data = makePayload(workerId, seq, bytes);
      const sent = now;
      try {
        await proposer.propose(data);
        now = performance.now();
        latency.record((now - sent) * 1e6);
        progress.completed++;
      } catch (error) {
        progress.failed++;
        tally.add(failureReason(error));
        // A proposer that refuses at once would otherwise spin on microtasks and starve the
        // event loop (and with it the transport that might bring a leader back).
        await yieldToEventLoop();
        now = performance.now();
      }
    }
  };

  const workers: Promise<void>[] = [];
  for (let w = 0; w < opts.conc; w++) workers.push(worker(w));
  await Promise.all(workers);
  return {
    issued: progress.issued,
    completed: progress.completed,
    failed: progress.failed,
    failures: tally.failures,
    elapsedMs: performance.now() - start,
  };
}

/**
 * Open loop: proposals are due at `rate` per second from the start, and a timer issues every
 * due proposal each tick, whatever is still in flight. Latency is measured from the time a
 * proposal was due, not the time the (possibly late) timer sent it, so a stalled cluster shows
 * its stall in the latency instead of hiding it (coordinated omission).
 */
export function runOpenLoop(opts: OpenLoopOptions): Promise<WorkloadResult> {
  validate(opts);
  const { proposer, bytes, benchtime, latency, rate } = opts;
  if (!(rate > 0) || !Number.isFinite(rate)) {
    throw new RangeError(`rate must be a number of proposals per second above 0, got ${rate}`);
  }
  const tickMs = opts.tickMs ?? 1;
  const maxInFlight = opts.maxInFlight ?? Math.max(10_000, Math.ceil(rate));
  const makePayload = opts.makePayload ?? proposalPayloadMaker();
  const progress = opts.progress ?? { issued: 0, completed: 0, failed: 0 };
  const tally = new Tally();
  const msPerProposal = 1_000 / rate;
  const start = performance.now();
  const quota =
    benchtime.kind === "count" ? benchtime.proposals : Math.ceil(benchtime.ms / msPerProposal);
  let inFlight = 0;
  let issuing = true;

  return new Promise<WorkloadResult>((resolve) => {
    const finishIfDone = (): void => {
      if (issuing || inFlight > 0) return;
      resolve({
        issued: progress.issued,
        completed: progress.completed,
        failed: progress.failed,
        failures: tally.failures,
        elapsedMs: performance.now() - start,
      });
    };

    const settle = (due: number, error: unknown, failed: boolean): void => {
      inFlight--;
      if (failed) {
        progress.failed++;
        tally.add(failureReason(error));
      } else {
        latency.record((performance.now() - due) * 1e6);
        progress.completed++;
      }
      finishIfDone();
    };

    const issueDue = (): void => {
      const now = performance.now();
      const due = Math.min(quota, Math.floor((now - start) / msPerProposal) + 1);
      while (progress.issued < due) {
        const seq = progress.issued++;
        const dueAt = start + seq * msPerProposal;
        if (inFlight >= maxInFlight) {
          progress.failed++;
          tally.add(IN_FLIGHT_LIMIT_REASON);
          continue;
        }
        inFlight++;
        let pending: Promise<void>;
        try {
          pending = proposer.propose(makePayload(0, seq, bytes));
        } catch (error) {
          settle(dueAt, error, true);
          continue;
        }
        pending.then(
          () => settle(dueAt, undefined, false),
          (error: unknown) => settle(dueAt, error, true),
        );
      }
      if (progress.issued >= quota) {
        issuing = false;
        clearInterval(timer);
        finishIfDone();
      }
    };

    const timer = setInterval(issueDue, tickMs);
    issueDue();
  });
}
