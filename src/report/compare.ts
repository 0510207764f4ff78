// rafttoy-compare's statistics, after benchstat's method: per benchmark and metric, the
// median of each side with a distribution-free 95 % confidence interval, the Mann–Whitney U
// test between the sides, and the change of the medians, reported only when significant.
import { isObject, readInputText, resultJson } from "./input.js";
import { mannWhitney, minRunsForSignificance, smallestPValue } from "./mann-whitney.js";
import { geomean, type MedianInterval, median, medianCI, minSamplesForCI } from "./stats.js";

/** The figures compared, as the result lines name their units. */
export const COMPARED_METRICS: ReadonlyArray<{ unit: string; field: string }> = [
  { unit: "ns/op", field: "nsPerOp" },
  { unit: "MB/s", field: "mbPerS" },
  { unit: "p50-ns", field: "p50Ns" },
  { unit: "p99-ns", field: "p99Ns" },
  { unit: "cpu-us/op", field: "cpuUsPerOp" },
  { unit: "x-floor", field: "xFloor" },
];

/** Benchmark name → metric field → one value per run. */
export type Samples = Map<string, Map<string, number[]>>;

export interface SideSummary {
  n: number;
  median: number;
  ci: MedianInterval;
  values: number[];
}

export type RowNote = "ci" | "significance" | "missing-old" | "missing-new";

export interface ComparisonRow {
  name: string;
  old: SideSummary | null;
  new: SideSummary | null;
  /** Mann–Whitney U and its two-sided p-value; null unless both sides have runs. */
  u: number | null;
  p: number | null;
  /** new/old − 1 of the medians when significant (p ≤ α), else null (shown as "~"). */
  delta: number | null;
  notes: RowNote[];
}

export interface MetricComparison {
  unit: string;
  rows: ComparisonRow[];
  /** Geometric means of the medians over benchmarks both sides have; null for fewer than 2. */
  geomean: { old: number; new: number; delta: number } | null;
}

export interface Comparison {
  alpha: number;
  confidence: number;
  /** Runs a side needs for a confidence interval at `confidence`. */
  minRunsForCI: number;
  /** Runs per side needed before any difference can be significant at `alpha`. */
  minRunsForSignificance: number;
  metrics: MetricComparison[];
}

function summarizeSide(values: readonly number[] | undefined, level: number): SideSummary | null {
  if (values === undefined || values.length === 0) return null;
  return {
    n: values.length,
    median: median(values),
    ci: medianCI(values, level),
    values: [...values],
  };
}

/** Compares two sets of samples, benchmark by benchmark, for every metric either side has. */
export function compareSamples(
  oldSamples: Samples,
  newSamples: Samples,
  alpha = 0.05,
  confidence = 0.95,
): Comparison {
  const names = [...new Set([...oldSamples.keys(), ...newSamples.keys()])];
  const metrics: MetricComparison[] = [];
  for (const { unit, field } of COMPARED_METRICS) {
    const rows: ComparisonRow[] = [];
    for (const name of names) {
      const oldValues = oldSamples.get(name)?.get(field);
      const newValues = newSamples.get(name)?.get(field);
      if (oldValues === undefined && newValues === undefined) continue;
      const o = summarizeSide(oldValues, confidence);
      const n = summarizeSide(newValues, confidence);
      const notes: RowNote[] = [];
      if (o === null) notes.push("missing-old");
      if (n === null) notes.push("missing-new");
      if ((o !== null && !o.ci.reached) || (n !== null && !n.ci.reached)) notes.push("ci");
      let u: number | null = null;
      let p: number | null = null;
      let delta: number | null = null;
      if (o !== null && n !== null) {
        const test = mannWhitney(o.values, n.values);
        u = test.u;
        p = test.p;
        if (smallestPValue(o.n, n.n) > alpha) notes.push("significance");
        if (p <= alpha && o.median !== 0) delta = n.median / o.median - 1;
      }
      rows.push({ name, old: o, new: n, u, p, delta, notes });
    }
    if (rows.length === 0) continue;
    const both = rows.filter(
      (r) => r.old !== null && r.new !== null && r.old.median > 0 && r.new.median > 0,
    );
    const g =
      both.length >= 2
        ? (() => {
            const og = geomean(both.map((r) => r.old!.median));
            const ng = geomean(both.map((r) => r.new!.median));
            return { old: og, new: ng, delta: ng / og - 1 };
          })()
        : null;
    metrics.push({ unit, rows, geomean: g });
  }
  return {
    alpha,
    confidence,
    minRunsForCI: minSamplesForCI(confidence),
    minRunsForSignificance: minRunsForSignificance(alpha),
    metrics,
  };
}

/** The per-run values of a result file's text, by benchmark name and metric field. */
export function samplesFromText(path: string, text: string): Samples {
  const raw = resultJson(path, text);
  const samples: Samples = new Map();
  for (const run of raw.runs) {
    if (!isObject(run) || typeof run.name !== "string") continue;
    // A run in which nothing completed has no figures (its result line shows only drops).
    if (typeof run.proposals === "number" && run.proposals <= 0) continue;
    let byField = samples.get(run.name);
    if (byField === undefined) {
      byField = new Map();
      samples.set(run.name, byField);
    }
    for (const { field } of COMPARED_METRICS) {
      const v = run[field];
      if (typeof v !== "number" || !Number.isFinite(v)) continue;
      const list = byField.get(field);
      if (list === undefined) byField.set(field, [v]);
      else list.push(v);
    }
  }
  return samples;
}

export async function readSamples(path: string): Promise<Samples> {
  return samplesFromText(path, await readInputText(path));
}
