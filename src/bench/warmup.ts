// The unmeasured warm-up before a session's first run. Its job is to let the JIT compile the
// hot paths of all three processes before anything is measured, and the JIT counts calls,
// not seconds: at conc=1 on a durable WAL (~1,000 proposals/s here) one second of warm-up
// left the first measured 3 s run paying ~0.9 s of optimizing compiles on the leader alone
// (V8's helper threads, on the two cores the three processes share), so that run cost twice
// the CPU per proposal of the third. The warm-up therefore lasts until a number of proposals
// is done, within a time cap; fast cases reach the count long before the cap.
import type { Benchtime } from "./benchtime.js";
import { type ClosedLoopOptions, runClosedLoop } from "./workload.js";

/**
 * Proposals after which the leader's optimizing compiles have stopped at conc=1 (traced with
 * V8's --trace-opt: 166, 100 and 27 compiles in the first three blocks of 2,000 proposals,
 * then 2-4 per block).
 */
export const WARMUP_PROPOSALS = 8_000;
/** A count benchtime warms up with as many proposals as one run, up to this many. */
export const WARMUP_COUNT_CAP = 20_000;
/** The warm-up always lasts this long (or the run's own benchtime, if shorter). */
export const WARMUP_MIN_MS = 1_000;
/** ... and never longer than this (~6,000-8,000 proposals at conc=1 on the file WAL). */
export const WARMUP_MAX_MS = 6_000;
/** Length of each closed-loop slice; the stop conditions are checked between slices. */
const SLICE_MS = 500;

export interface WarmupPlan {
  /** Proposals to complete before stopping. */
  proposals: number;
  /** Time the warm-up lasts at least, even when the proposals are done sooner. */
  minMs: number;
  /** Time after which it stops, proposals done or not. */
  maxMs: number;
}

/**
 * A count benchtime warms up with as many proposals (at most WARMUP_COUNT_CAP), however long
 * that takes. A duration benchtime warms up for at least the shorter of itself
 * and WARMUP_MIN_MS, then on until WARMUP_PROPOSALS are done, within WARMUP_MAX_MS (or the
 * benchtime, for a run shorter than the minimum: a quick look stays quick).
 */
export function warmupPlan(benchtime: Benchtime): WarmupPlan {
  if (benchtime.kind === "count") {
    const proposals = Math.min(benchtime.proposals, WARMUP_COUNT_CAP);
    return { proposals, minMs: 0, maxMs: Number.POSITIVE_INFINITY };
  }
  const minMs = Math.min(benchtime.ms, WARMUP_MIN_MS);
  const maxMs = benchtime.ms < WARMUP_MIN_MS ? minMs : WARMUP_MAX_MS;
  return { proposals: WARMUP_PROPOSALS, minMs, maxMs };
}

export interface WarmupResult {
  completed: number;
  elapsedMs: number;
}

/** Runs the closed loop of `opts` (its benchtime ignored) as `plan` says; nothing is measured. */
export async function warmUp(
  opts: Omit<ClosedLoopOptions, "benchtime">,
  plan: WarmupPlan,
  now: () => number = () => performance.now(),
): Promise<WarmupResult> {
  const start = now();
  let completed = 0;
  for (;;) {
    const elapsed = now() - start;
    const countDone = completed >= plan.proposals;
    if ((countDone && elapsed >= plan.minMs) || elapsed >= plan.maxMs) break;
    const untilMax = plan.maxMs - elapsed;
    // Slices end at the next stop condition, so the warm-up overshoots none by much.
    const benchtime: Benchtime = countDone
      ? { kind: "duration", ms: Math.max(1, Math.min(plan.minMs - elapsed, untilMax)) }
      : Number.isFinite(untilMax)
        ? { kind: "duration", ms: Math.max(1, Math.min(SLICE_MS, untilMax)) }
        : { kind: "count", proposals: plan.proposals - completed };
    const r = await runClosedLoop({ ...opts, benchtime });
    completed += r.completed;
    // Nothing completes (every proposal refused): going on until the cap would only spin.
    if (r.completed === 0 && now() - start >= plan.minMs) break;
  }
  return { completed, elapsedMs: now() - start };
}
