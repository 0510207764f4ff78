import { mkdir, rename, writeFile } from "node:fs/promises";
import os from "node:os";
import { dirname } from "node:path";
import { UsageError } from "../errors/errors.js";
import { newHdrHistogram, summarize } from "../metrics/histogram.js";
import type { Metrics, MetricsJson } from "../metrics/metrics.js";
import { encodeHistogram } from "../metrics/probes.js";
import { type Benchtime, formatBenchtime } from "./benchtime.js";
import { type BenchEnvironment, benchEnvironment } from "./environment.js";
import { type ComponentReadings, computeFloor } from "./floor.js";
import { type BenchCase, patternText, selectCases } from "./matrix.js";
import type { MakePayload } from "./payload.js";
import {
  type CaseSummary,
  formatRunLine,
  formatSummaryLine,
  type RunResult,
  runResult,
  type SweepStep,
  summarizeRuns,
} from "./results.js";
import {
  openLoopDurationMs,
  type Proposer,
  runClosedLoop,
  runOpenLoop,
  type WorkloadProgress,
  type WorkloadResult,
} from "./workload.js";

/** A progress line is redrawn at most this often (~10 times a second). */
const PROGRESS_TICK_MS = 100;

export interface PrepareInfo {
  benchCase: BenchCase;
  /** 1-based run number among the --count runs of this case. */
  run: number;
  /** 0-based position of this run in the whole session. */
  index: number;
}

/** Where a session stands, for a progress line. */
export interface RunProgress {
  /** 1-based position of the current run in the session, and the session's number of runs. */
  runIndex: number;
  runs: number;
  /** The case's name and the run's number among its --count runs. */
  name: string;
  run: number;
  count: number;
  /** Time into the current run, and proposals acknowledged and dropped in it so far. */
  elapsedMs: number;
  proposals: number;
  dropped: number;
}

/** Where the runner gets the component latencies of a run, for its floor. */
export interface ComponentSource {
  /** The pipeline every member runs (its ordering picks the floor's formula). */
  pipeline: string;
  /** Members of the Raft group (the quorum follows from it). */
  members: number;
  /** Forgets what was recorded so far: called just before a run is timed. */
  start(): Promise<void>;
  /** What every process recorded since start(): called right after the run. */
  collect(): Promise<ComponentReadings>;
}

export interface RunnerOptions {
  /** --bench: selects cases by name (see matrix.ts for the rule). */
  pattern: RegExp;
  benchtime: Benchtime;
  /** Runs of each case, back to back. */
  count: number;
  /** Open-loop proposals per second; 0 for the closed loop with conc workers. */
  maxrate: number;
  /** After the closed-loop cases, open-loop steps at 10 %..120 % of their capacity. */
  sweep?: boolean;
  proposer: Proposer;
  /** Called before each run; the leader starts a fresh epoch here. */
  prepare?: (info: PrepareInfo) => Promise<void>;
  makePayload?: MakePayload;
  /** Component latencies for the speed-of-light floor on each result line. */
  components?: ComponentSource;
  /** The process's stage histograms, recorded in the JSON file. */
  metrics?: Metrics;
  /** The whole configuration (flags and components), recorded in the JSON file as given. */
  config: Record<string, unknown>;
  /** How the WAL makes appends durable ("fdatasync", "none", ...), recorded in the JSON file. */
  walSyncMode: string;
  /** This process's data directory: its filesystem is recorded with the environment. */
  dataDir?: string;
  /** --json: rewritten after every run, so a crash keeps the runs done so far. */
  jsonPath?: string;
  /** Result and summary lines (stdout). */
  out: (line: string) => void;
  /** Progress notes on long runs (stderr). */
  log: (line: string) => void;
  /** Where the session stands, about ten times a second while a run is timed. */
  onProgress?: (p: RunProgress) => void;
  /** How often a running benchmark reports progress, in ms (default 5,000). */
  progressEveryMs?: number;
  /** The "-N" suffix of result names (default os.availableParallelism()). */
  cores?: number;
}

export interface BenchReport {
  startedAt: string;
  environment: BenchEnvironment;
  walSyncMode: string;
  config: Record<string, unknown>;
  bench: { pattern: string; benchtime: string; count: number; maxrate: number };
  runs: RunResult[];
  summaries: CaseSummary[];
  /** All proposals lost over the session, by reason (sweep steps' drops are in their runs). */
  dropped: { total: number; failures: Record<string, number> };
  metrics: MetricsJson | null;
  /** Each follower's --metrics histograms at the end of the session, where it sent them. */
  followers?: FollowerReport[];
}

export interface FollowerReport {
  id: number;
  /** "follower 2": the role the report labels its histograms with. */
  role: string;
  metrics: MetricsJson;
}

/** Runs every selected case `count` times, printing a line per run; returns the full report. */
export async function runBenchmarks(opts: RunnerOptions): Promise<BenchReport> {
  const cases = selectCases(opts.pattern, opts.maxrate);
  if (cases.length === 0) {
    throw new UsageError(`--bench ${patternText(opts.pattern)} matches no benchmark`);
  }
  const cores = opts.cores ?? os.availableParallelism();
  const report: BenchReport = {
    startedAt: new Date().toISOString(),
    environment: benchEnvironment(opts.dataDir),
    walSyncMode: opts.walSyncMode,
    config: opts.config,
    bench: {
      pattern: patternText(opts.pattern),
      benchtime: formatBenchtime(opts.benchtime),
      count: opts.count,
      maxrate: opts.maxrate,
    },
    runs: [],
    summaries: [],
    dropped: { total: 0, failures: {} },
    metrics: opts.metrics?.toJSON() ?? null,
  };

  const bytesSwept = opts.sweep === true ? [...new Set(cases.map((c) => c.bytes))] : [];
  const totalRuns = (cases.length + bytesSwept.length * SWEEP_PERCENTS.length) * opts.count;
  let index = 0;
  const runCase = async (benchCase: BenchCase, sweepStep?: SweepStep): Promise<void> => {
    for (let run = 1; run <= opts.count; run++) {
      await opts.prepare?.({ benchCase, run, index: index++ });
      const position = { runIndex: index, runs: totalRuns };
      const result = await measureRun(opts, benchCase, run, cores, position);
      if (sweepStep !== undefined) result.sweep = sweepStep;
      opts.out(formatRunLine(result));
      if (result.dropped > 0) {
        opts.log(`${result.fullName} run ${run}: dropped ${JSON.stringify(result.failures)}`);
      }
      record(report, result, opts.metrics);
      if (opts.jsonPath !== undefined) await writeReport(opts.jsonPath, report);
    }
    if (opts.count > 1) {
      const summary = report.summaries.find((s) => s.name === benchCase.name);
      if (summary !== undefined) opts.out(formatSummaryLine(summary));
    }
  };
  for (const benchCase of cases) await runCase(benchCase);
  // The sweep: the closed loop measured the capacity; now offer a share of it, step by step.
  for (const bytes of bytesSwept) {
    const capacity = closedLoopCapacity(report.summaries, cases, bytes);
    if (capacity === null) {
      opts.log(`sweep at bytes=${bytes}: no closed-loop throughput to sweep from`);
      continue;
    }
    for (const step of sweepSteps(bytes, capacity)) await runCase(step.benchCase, step.sweep);
  }
  return report;
}

/** The shares of the closed-loop capacity a sweep offers, in percent. */
export const SWEEP_PERCENTS: readonly number[] = [
  10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120,
];

/**
 * The closed-loop capacity at `bytes`: the highest throughput (proposals/s, from the median
 * ns/op over --count) among the closed-loop cases of that size; null without one.
 */
export function closedLoopCapacity(
  summaries: readonly CaseSummary[],
  cases: readonly BenchCase[],
  bytes: number,
): number | null {
  let best: number | null = null;
  for (const c of cases) {
    if (c.bytes !== bytes || c.conc === undefined) continue;
    const s = summaries.find((x) => x.name === c.name);
    if (s === undefined || !(s.nsPerOp > 0)) continue;
    const perSecond = 1e9 / s.nsPerOp;
    if (best === null || perSecond > best) best = perSecond;
  }
  return best;
}

/**
 * The open-loop cases of one sweep: `sweep=P%/bytes=N`, names that stay the same from one
 * session to the next (so two sweeps compare step by step) while the rate they offer is
 * P % of this session's capacity, rounded to a whole number of proposals per second.
 */
export function sweepSteps(
  bytes: number,
  capacityPerS: number,
): Array<{ benchCase: BenchCase; sweep: SweepStep }> {
  return SWEEP_PERCENTS.map((percent) => {
    const rate = Math.max(1, Math.round((capacityPerS * percent) / 100));
    return {
      benchCase: { name: `sweep=${percent}%/bytes=${bytes}`, maxrate: rate, bytes },
      sweep: { percent, capacityPerS, offeredRate: rate },
    };
  });
}

function record(report: BenchReport, result: RunResult, metrics: Metrics | undefined): void {
  report.runs.push(result);
  report.summaries = summarizeRuns(report.runs);
  report.metrics = metrics?.toJSON() ?? null;
  // An overloaded sweep step is meant to drop (that is the far side of the knee): its drops
  // stay in its own run and line, out of the session's verdict.
  if (result.sweep !== undefined) return;
  report.dropped.total += result.dropped;
  for (const [reason, n] of Object.entries(result.failures)) {
    report.dropped.failures[reason] = (report.dropped.failures[reason] ?? 0) + n;
  }
}

async function measureRun(
  opts: RunnerOptions,
  benchCase: BenchCase,
  run: number,
  cores: number,
  position: { runIndex: number; runs: number },
): Promise<RunResult> {
  const latency = newHdrHistogram();
  const progress: WorkloadProgress = { issued: 0, completed: 0, failed: 0 };
  const common = {
    proposer: opts.proposer,
    bytes: benchCase.bytes,
    benchtime: opts.benchtime,
    latency: { record: (ns: number) => latency.recordValue(ns) },
    progress,
    ...(opts.makePayload === undefined ? {} : { makePayload: opts.makePayload }),
  };
  const startedAt = performance.now();
  // Each line also gives the interval's own ns/op, so that a long run shows whether it
  // slows down as it goes (the first and the last interval side by side).
  let lastAt = startedAt;
  let lastCompleted = 0;
  const reporter = setInterval(() => {
    const now = performance.now();
    const seconds = ((now - startedAt) / 1_000).toFixed(1);
    const done = progress.completed - lastCompleted;
    const interval = done > 0 ? `${Math.round(((now - lastAt) * 1e6) / done)} ns/op` : "none";
    lastAt = now;
    lastCompleted = progress.completed;
    opts.log(
      `${benchCase.name} run ${run}: ${seconds}s, ${progress.completed} done, ${progress.failed} dropped, last interval ${interval}`,
    );
  }, opts.progressEveryMs ?? 5_000);
  reporter.unref();
  const onProgress = opts.onProgress;
  const ticker =
    onProgress === undefined
      ? undefined
      : setInterval(() => {
          onProgress({
            ...position,
            name: benchCase.name,
            run,
            count: opts.count,
            elapsedMs: performance.now() - startedAt,
            proposals: progress.completed,
            dropped: progress.failed,
          });
        }, PROGRESS_TICK_MS);
  ticker?.unref();

  await opts.components?.start();
  const cpuBefore = process.cpuUsage();
  const wallBefore = process.hrtime.bigint();
  let workload: WorkloadResult & { achievedRate?: number };
  try {
    const rate = benchCase.maxrate;
    workload =
      rate !== undefined
        ? await runOpenLoop({
            ...common,
            rate,
            durationMs: openLoopDurationMs(opts.benchtime, rate),
          })
        : await runClosedLoop({ ...common, conc: benchCase.conc ?? 1 });
  } finally {
    clearInterval(reporter);
    clearInterval(ticker);
  }
  const wallNs = Number(process.hrtime.bigint() - wallBefore);
  const cpu = process.cpuUsage(cpuBefore);
  const latencyNs = summarize(latency);
  const latencyHdr = encodeHistogram(latency).hdr;
  latency.destroy();
  const components = await opts.components?.collect();
  const floor =
    components === undefined || opts.components === undefined
      ? undefined
      : computeFloor(opts.components.pipeline, opts.components.members, components);
  return runResult(benchCase, run, cores, {
    latencyHdr,
    ...(floor === undefined ? {} : { floor }),
    ...(components === undefined ? {} : { components }),
    proposals: workload.completed,
    issued: workload.issued,
    dropped: workload.failed,
    failures: workload.failures,
    ...(workload.achievedRate === undefined ? {} : { achievedRate: workload.achievedRate }),
    wallNs,
    cpuUs: cpu.user + cpu.system,
    latencyNs,
  });
}

/** Writes the report whole (to a temporary file, then renamed) so a reader never sees half. */
export async function writeReport(path: string, report: BenchReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(report, null, 2)}\n`);
  await rename(temporary, path);
}
