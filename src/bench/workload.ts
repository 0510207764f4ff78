import { RafttoyError } from "../errors/errors.js";
import type { Recorder } from "../metrics/metrics.js";
import { ProposalError } from "../peer/proposal-tracker.js";
import { RaftError } from "../raft/errors.js";
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

export interface OpenLoopOptions extends Omit<WorkloadOptions, "benchtime"> {
  /** Proposals per second, issued whether or not earlier ones have completed. */
  rate: number;
  /** How long to issue, in ms; then issuing stops, whatever was not issued by then. */
  durationMs: number;
  /**
   * After issuing stops, how long proposals still in flight may take (default 2,000 ms);
   * those still unanswered then count as timed out.
   */
  graceMs?: number;
  /** How often the issuing timer fires, in ms (default 1). */
  tickMs?: number;
  /**
   * Proposals allowed in flight at once (default: one second's worth, at least 10,000). Beyond
   * it a due proposal is not issued but counted as dropped, so an overloaded cluster shows up
   * as drops instead of as unbounded memory.
   */
  maxInFlight?: number;
}

export interface OpenLoopResult extends WorkloadResult {
  /** Proposals acknowledged per second of the issuing window. */
  achievedRate: number;
}

/** The open loop's issuing window for a benchtime: a duration, or a count at `rate`. */
export function openLoopDurationMs(benchtime: Benchtime, rate: number): number {
  return benchtime.kind === "duration" ? benchtime.ms : (benchtime.proposals * 1_000) / rate;
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
export const NOT_ISSUED_REASON = "not issued: the issuer fell behind the rate";
export const TIMED_OUT_REASON = "timed out: unanswered at the end of the grace period";

/** How long one timer callback may keep issuing before it lets I/O (the answers) run. */
const ISSUE_SLICE_MS = 20;
const DEFAULT_GRACE_MS = 2_000;
/**
 * The default in-flight bound never exceeds what the leader's Peer keeps in flight itself
 * (65,536): more only queues in front of it, where every proposal waits longer and the
 * millions of pending promises cost the issuer and the peer the CPU they need.
 */
const MAX_DEFAULT_IN_FLIGHT = 65_536;
/** How late after the deadline the last due proposals may still be issued. */
const LATE_TOLERANCE_MS = 50;

// Distinct reasons kept before the rest are lumped together, so a message with a varying
// detail (an index, a size) cannot grow the table without bound.
const MAX_REASONS = 32;
const OTHER_REASONS = "other reasons";

/**
 * The key a failure is counted under: a refused proposal's reason (the peer's own words, or
 * the core's code and reason), another coded error's code, else any error's name and message.
 */
export function failureReason(error: unknown): string {
  if (error instanceof ProposalError) return error.reason;
  if (error instanceof RaftError)
    return error.reason === "" ? error.code : `${error.code}: ${error.reason}`;
  if (error instanceof RafttoyError) return error.code;
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 120);
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

function validate(opts: Pick<WorkloadOptions, "bytes">): void {
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
 * Open loop: proposals are due at `rate` per second for `durationMs`, and a timer issues
 * every due proposal each tick, whatever is still in flight. Latency is measured from the
 * time a proposal was due, not the time the (possibly late) timer sent it, so a stalled
 * cluster shows its stall in the latency instead of hiding it (coordinated omission).
 *
 * It ends on time: at `durationMs` issuing stops (due proposals the issuer did not get to
 * count as not issued), proposals in flight get `graceMs` to finish, and those still
 * unanswered then count as timed out. Their late answers are ignored.
 */
export function runOpenLoop(opts: OpenLoopOptions): Promise<OpenLoopResult> {
  validate(opts);
  const { proposer, bytes, latency, rate, durationMs } = opts;
  if (!(rate > 0) || !Number.isFinite(rate)) {
    throw new RangeError(`rate must be a number of proposals per second above 0, got ${rate}`);
  }
  if (!(durationMs > 0) || !Number.isFinite(durationMs)) {
    throw new RangeError(`durationMs must be a number of ms above 0, got ${durationMs}`);
  }
  const tickMs = opts.tickMs ?? 1;
  const graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
  const maxInFlight =
    opts.maxInFlight ?? Math.min(MAX_DEFAULT_IN_FLIGHT, Math.max(10_000, Math.ceil(rate)));
  const makePayload = opts.makePayload ?? proposalPayloadMaker();
  const progress = opts.progress ?? { issued: 0, completed: 0, failed: 0 };
  const tally = new Tally();
  const msPerProposal = 1_000 / rate;
  const start = performance.now();
  const deadline = start + durationMs;
  // Proposal seq is due at start + seq * msPerProposal; those due before the deadline count.
  const quota = Math.max(1, Math.ceil(durationMs / msPerProposal));
  let next = 0;
  let inFlight = 0;
  let finished = false;

  return new Promise<OpenLoopResult>((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;

    const finish = (): void => {
      if (finished) return;
      finished = true;
      if (timer !== undefined) clearInterval(timer);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      if (inFlight > 0) {
        progress.failed += inFlight;
        tally.add(TIMED_OUT_REASON, inFlight);
      }
      resolve({
        issued: progress.issued,
        completed: progress.completed,
        failed: progress.failed,
        failures: tally.failures,
        elapsedMs: performance.now() - start,
        achievedRate: (progress.completed * 1_000) / durationMs,
      });
    };

    const settle = (due: number, error: unknown, failed: boolean): void => {
      if (finished) return;
      inFlight--;
      if (failed) {
        progress.failed++;
        tally.add(failureReason(error));
      } else {
        latency.record((performance.now() - due) * 1e6);
        progress.completed++;
      }
      if (timer === undefined && inFlight === 0) finish();
    };

    const stopIssuing = (): void => {
      clearInterval(timer);
      timer = undefined;
      const missed = quota - next;
      if (missed > 0) {
        progress.failed += missed;
        tally.add(NOT_ISSUED_REASON, missed);
        next = quota;
      }
      if (inFlight === 0) finish();
      else graceTimer = setTimeout(finish, graceMs);
    };

    const issueDue = (): void => {
      if (timer === undefined) return;
      let now = performance.now();
      // Past the deadline, the proposals due before it are still issued if the issuer is
      // only a timer tick or two late; an issuer further behind has missed them.
      if (now >= deadline + LATE_TOLERANCE_MS) {
        stopIssuing();
        return;
      }
      const sliceEnd = now + ISSUE_SLICE_MS;
      const due = Math.min(quota, Math.floor((now - start) / msPerProposal) + 1);
      while (next < due) {
        const seq = next++;
        const dueAt = start + seq * msPerProposal;
        progress.issued++;
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
        // A burst that takes too long would keep the answers (and the deadline) waiting.
        if ((seq & 255) === 255) {
          now = performance.now();
          if (now >= sliceEnd) break;
        }
      }
      if (next >= quota || performance.now() >= deadline + LATE_TOLERANCE_MS) stopIssuing();
    };

    timer = setInterval(issueDue, tickMs);
    issueDue();
  });
}
