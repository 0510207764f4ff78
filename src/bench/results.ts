import type { DistributionSummary } from "../metrics/histogram.js";
import type { ComponentReadings, Floor } from "./floor.js";
import { type BenchMetric, formatGoBenchLine } from "./go-format.js";
import type { BenchCase } from "./matrix.js";

/** One run of one benchmark case. */
export interface RunResult {
  /** "conc=64/bytes=256": the name --bench matches. */
  name: string;
  /** "BenchmarkRaft/conc=64/bytes=256-2": the name on the result line. */
  fullName: string;
  conc: number | null;
  maxrate: number | null;
  bytes: number;
  /** 1-based run number among --count runs of this case. */
  run: number;
  /** Proposals acknowledged (the N of the result line). */
  proposals: number;
  issued: number;
  /** Proposals that failed or were never issued, and why. */
  dropped: number;
  failures: Record<string, number>;
  wallNs: number;
  cpuUs: number;
  nsPerOp: number;
  mbPerS: number;
  p50Ns: number;
  p99Ns: number;
  cpuUsPerOp: number;
  latencyNs: DistributionSummary;
  /** Open loop: proposals acknowledged per second over the issuing window; null closed. */
  achievedRate: number | null;
  /** A step of a --sweep: its share of the closed-loop capacity and the rate offered. */
  sweep?: SweepStep;
  /** The proposal latencies of this run in HDR's compressed base64 form (mergeable). */
  latencyHdr?: string;
  /** The speed-of-light floor (docs/floor.md); null when a component went unmeasured. */
  floorNs: number | null;
  /** Measured conc=1-equivalent latency / floorNs (see conc1EquivalentNs). */
  xFloor: number | null;
  floor?: Floor;
  /** Every process's component probes for this run, the floor's inputs. */
  components?: ComponentReadings;
}

export interface RunMeasurement {
  proposals: number;
  issued: number;
  failures: Record<string, number>;
  dropped: number;
  wallNs: number;
  cpuUs: number;
  latencyNs: DistributionSummary;
  /** Open loop only: acknowledged proposals per second over the issuing window. */
  achievedRate?: number;
  latencyHdr?: string;
  floor?: Floor;
  components?: ComponentReadings;
}

/**
 * The measured figure a floor (a conc=1 latency) is compared with. Closed loop: ns/op times
 * conc, the mean time one worker waits per proposal (Little's law); at conc=1 exactly ns/op,
 * the headline figure. Open loop: the mean proposal latency.
 */
export function conc1EquivalentNs(
  c: BenchCase,
  nsPerOp: number,
  latency: DistributionSummary,
): number {
  return c.conc !== undefined ? nsPerOp * c.conc : latency.mean;
}

/** One step of a latency-throughput sweep. */
export interface SweepStep {
  /** Share of the capacity offered, in percent. */
  percent: number;
  /** The closed-loop capacity the sweep started from, proposals per second. */
  capacityPerS: number;
  /** Proposals per second offered (the open loop's maxrate). */
  offeredRate: number;
}

/** The Go-style name: "BenchmarkRaft/<case>-<cores>" (no suffix on one core, as Go does). */
export function fullBenchName(name: string, cores: number): string {
  return `BenchmarkRaft/${name}${cores === 1 ? "" : `-${cores}`}`;
}

/** Derives the per-proposal figures: ns/op = wall / proposals, MB/s = bytes * proposals / wall. */
export function runResult(c: BenchCase, run: number, cores: number, m: RunMeasurement): RunResult {
  const n = m.proposals;
  const nsPerOp = n > 0 ? m.wallNs / n : 0;
  const floorNs = m.floor?.floorNs ?? null;
  const measured = conc1EquivalentNs(c, nsPerOp, m.latencyNs);
  return {
    name: c.name,
    fullName: fullBenchName(c.name, cores),
    conc: c.conc ?? null,
    maxrate: c.maxrate ?? null,
    bytes: c.bytes,
    run,
    proposals: n,
    issued: m.issued,
    dropped: m.dropped,
    failures: m.failures,
    wallNs: m.wallNs,
    cpuUs: m.cpuUs,
    nsPerOp,
    mbPerS: m.wallNs > 0 ? (c.bytes * n * 1e3) / m.wallNs : 0,
    p50Ns: m.latencyNs.p50,
    p99Ns: m.latencyNs.p99,
    cpuUsPerOp: n > 0 ? m.cpuUs / n : 0,
    latencyNs: m.latencyNs,
    achievedRate: m.achievedRate ?? null,
    ...(m.latencyHdr === undefined ? {} : { latencyHdr: m.latencyHdr }),
    floorNs,
    xFloor: floorNs !== null && floorNs > 0 && n > 0 ? measured / floorNs : null,
    ...(m.floor === undefined ? {} : { floor: m.floor }),
    ...(m.components === undefined ? {} : { components: m.components }),
  };
}

type Figures = Pick<
  RunResult,
  "nsPerOp" | "mbPerS" | "p50Ns" | "p99Ns" | "cpuUsPerOp" | "floorNs" | "xFloor"
>;

function metricsOf(f: Figures): BenchMetric[] {
  const metrics = [
    { value: f.nsPerOp, unit: "ns/op" },
    { value: f.mbPerS, unit: "MB/s" },
    { value: f.p50Ns, unit: "p50-ns" },
    { value: f.p99Ns, unit: "p99-ns" },
    { value: f.cpuUsPerOp, unit: "cpu-us/op" },
  ];
  // Beside the figure, what the components allowed (absent when one went unmeasured).
  if (f.floorNs !== null) metrics.push({ value: f.floorNs, unit: "floor-ns" });
  if (f.xFloor !== null) metrics.push({ value: f.xFloor, unit: "x-floor" });
  return metrics;
}

/**
 * Extra fields after the figures, each a `value unit` pair as benchstat wants them: an open
 * loop's intended and achieved rates, and `K dropped` when proposals were lost.
 */
function extrasOf(r: Pick<RunResult, "maxrate" | "achievedRate" | "dropped">): BenchMetric[] {
  const extras: BenchMetric[] = [];
  if (r.maxrate !== null && r.achievedRate !== null) {
    extras.push({ value: r.maxrate, unit: "target-ops/s" });
    extras.push({ value: r.achievedRate, unit: "achieved-ops/s" });
  }
  if (r.dropped > 0) extras.push({ value: r.dropped, unit: "dropped" });
  return extras;
}

/**
 * The result line: `BenchmarkRaft/conc=64/bytes=256-2  N  ns/op  MB/s  p50-ns  p99-ns
 * cpu-us/op`, then the extras (`target-ops/s achieved-ops/s` in the open loop, `K dropped`
 * when proposals were lost). A run in which nothing completed has no figures, only extras.
 */
export function formatRunLine(r: RunResult): string {
  const figures = r.proposals > 0 ? metricsOf(r) : [];
  return formatGoBenchLine(r.fullName, r.proposals, [...figures, ...extrasOf(r)]);
}

/** The median: the middle value, or the mean of the two middle ones. NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Medians over the --count runs of one case. */
export interface CaseSummary extends Figures {
  name: string;
  fullName: string;
  runs: number;
  proposals: number;
  dropped: number;
}

/** One summary per case name, in the order the cases first appear. */
export function summarizeRuns(results: readonly RunResult[]): CaseSummary[] {
  // Each name's runs, never empty: the first one names the case.
  const byName = new Map<string, [RunResult, ...RunResult[]]>();
  for (const r of results) {
    const list = byName.get(r.name);
    if (list === undefined) byName.set(r.name, [r]);
    else list.push(r);
  }
  return [...byName.values()].map((runs) => {
    const of = (pick: (r: RunResult) => number) => median(runs.map(pick));
    const ofKnown = (pick: (r: RunResult) => number | null) => {
      const known = runs.map(pick).filter((v): v is number => v !== null);
      return known.length > 0 ? median(known) : null;
    };
    return {
      name: runs[0].name,
      fullName: runs[0].fullName,
      runs: runs.length,
      // A whole number, as the N of a result line must be (an even count's median may not be).
      proposals: Math.round(of((r) => r.proposals)),
      dropped: runs.reduce((sum, r) => sum + r.dropped, 0),
      nsPerOp: of((r) => r.nsPerOp),
      mbPerS: of((r) => r.mbPerS),
      p50Ns: of((r) => r.p50Ns),
      p99Ns: of((r) => r.p99Ns),
      cpuUsPerOp: of((r) => r.cpuUsPerOp),
      floorNs: ofKnown((r) => r.floorNs),
      xFloor: ofKnown((r) => r.xFloor),
    };
  });
}

/**
 * The summary line printed after the runs of a case when --count > 1. It starts with "#" so
 * that tools reading Go benchmark lines skip it instead of counting it as one more run.
 */
export function formatSummaryLine(s: CaseSummary): string {
  const extras: BenchMetric[] = s.dropped > 0 ? [{ value: s.dropped, unit: "dropped" }] : [];
  return `# median of ${s.runs}: ${formatGoBenchLine(s.fullName, s.proposals, [...metricsOf(s), ...extras])}`;
}
