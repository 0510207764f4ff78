// The report's plots as Vega-Lite specifications, built from the result model (input.ts).
// Each builder returns a plot, or the reason it has nothing to draw; the page shows that
// reason in the plot's place, so a result file without some optional field still renders.
import type { TopLevelSpec } from "vega-lite";
import type { UnitSpec } from "vega-lite/types_unstable/spec/unit.js";
import type { Distribution, ReportRun, ResultSet } from "./input.js";
import { median } from "./stats.js";

export interface Plot {
  id: string;
  title: string;
  /** How to read the plot (what the marks and bars mean). */
  caption: string;
  spec: TopLevelSpec;
}

export interface SkippedPlot {
  id: string;
  title: string;
  reason: string;
}

export type PlotOutcome = { plot: Plot } | { skipped: SkippedPlot };

const WIDTH = 520;
const HEIGHT = 300;
const FACET_WIDTH = 260;
const FACET_HEIGHT = 200;

/** The stages the issue names, in the order the page shows them; other histograms follow. */
export const EXPECTED_STAGE_LATENCIES: readonly string[] = [
  "proposal-latency-ns",
  "pipeline-iteration-latency-ns",
  "append-latency-ns",
  "sync-latency-ns",
  "apply-latency-ns",
];
export const EXPECTED_BATCH_SIZES: readonly string[] = [
  "append-batch-size",
  "apply-batch-size",
  "transport-batch-messages",
];

type Row = Record<string, string | number | null>;

/** Runs grouped by series and case name, in the order they first appear. */
/** A case's runs: never empty, so its first run needs no check. */
type RunGroup = [ReportRun, ...ReportRun[]];

function groupRuns(runs: readonly ReportRun[]): RunGroup[] {
  const groups = new Map<string, RunGroup>();
  for (const r of runs) {
    const key = `${r.series}\u0000${r.name}`;
    const g = groups.get(key);
    if (g === undefined) groups.set(key, [r]);
    else g.push(r);
  }
  return [...groups.values()];
}

/** Median and range over a case's runs of one figure, or null where no run has it. */
function spread(runs: readonly ReportRun[], pick: (r: ReportRun) => number | null) {
  const values = runs.map(pick).filter((v): v is number => v !== null && v > 0);
  if (values.length === 0) return null;
  return {
    median: median(values),
    lo: Math.min(...values),
    hi: Math.max(...values),
    n: values.length,
  };
}

function closedLoop(sets: readonly ResultSet[]): ReportRun[] {
  return sets.flatMap((s) => s.runs).filter((r) => r.conc !== null && r.conc > 0);
}

function openLoop(sets: readonly ResultSet[]): ReportRun[] {
  return sets.flatMap((s) => s.runs).filter((r) => r.conc === null && r.maxrate !== null);
}

const logScale = { type: "log" as const };
const seriesColor = { field: "series", type: "nominal" as const, title: "series" };

/**
 * A figure against conc, per series: medians joined by lines, min–max of the --count runs as
 * error bars, both axes logarithmic; one panel per payload size when there are several.
 */
function againstConc(
  id: string,
  title: string,
  sets: readonly ResultSet[],
  yTitle: string,
  pick: (r: ReportRun) => number | null,
  caption: string,
  floor?: { pick: (r: ReportRun) => number | null; note: string },
): PlotOutcome {
  const rows: Row[] = [];
  for (const runs of groupRuns(closedLoop(sets))) {
    const s = spread(runs, pick);
    if (s === null) continue;
    const r = runs[0];
    const f = floor === undefined ? null : spread(runs, floor.pick);
    rows.push({ series: r.series, conc: r.conc, bytes: r.bytes, ...s, floor: f?.median ?? null });
  }
  if (rows.length === 0) {
    return { skipped: { id, title, reason: `no closed-loop run in these files has ${yTitle}` } };
  }
  const layers: UnitSpec<string>[] = [
    {
      mark: { type: "line", point: true },
      encoding: {
        y: {
          field: "median",
          type: "quantitative",
          scale: logScale,
          title: yTitle,
          axis: { format: "~s" },
        },
        tooltip: [
          { field: "series" },
          { field: "conc" },
          { field: "median", format: ",.4~g" },
          { field: "lo", format: ",.4~g" },
          { field: "hi", format: ",.4~g" },
          { field: "n" },
        ],
      },
    },
    {
      mark: { type: "errorbar", ticks: true },
      encoding: {
        y: { field: "lo", type: "quantitative", scale: logScale, title: yTitle },
        y2: { field: "hi" },
      },
    },
  ];
  const hasFloor = rows.some((r) => r.floor !== null);
  if (hasFloor) {
    layers.push({
      mark: { type: "line", strokeDash: [4, 3] },
      encoding: {
        y: { field: "floor", type: "quantitative", scale: logScale, title: yTitle },
      },
    });
  }
  // Ticks at the concurrencies measured (powers of 2 otherwise crowd or drop the last one).
  const concs = [...new Set(rows.map((r) => Number(r.conc)))].sort((a, b) => a - b);
  const encoding = {
    x: {
      field: "conc",
      type: "quantitative" as const,
      scale: { type: "log" as const, base: 2 },
      axis: { values: concs, labelFlush: false, labelOverlap: false },
    },
    color: seriesColor,
  };
  const byteSizes = new Set(rows.map((r) => r.bytes));
  const spec: TopLevelSpec =
    byteSizes.size > 1
      ? {
          data: { values: rows },
          facet: { column: { field: "bytes", type: "ordinal", title: "bytes per proposal" } },
          spec: { width: FACET_WIDTH, height: HEIGHT, encoding, layer: layers },
        }
      : { data: { values: rows }, width: WIDTH, height: HEIGHT, encoding, layer: layers };
  const floorNote = hasFloor && floor !== undefined ? ` ${floor.note}` : "";
  return { plot: { id, title, caption: `${caption} ${rowsRuns(rows)}${floorNote}`, spec } };
}

function rowsRuns(rows: readonly Row[]): string {
  const counts = new Set(rows.map((r) => r.n));
  const list = [...counts].sort().join(", ");
  return `Error bars: min–max of the runs of each case (${list} ${counts.size === 1 && list === "1" ? "run" : "runs"}).`;
}

export function nsPerOpPlot(sets: readonly ResultSet[]): PlotOutcome {
  return againstConc(
    "ns-per-op",
    "ns/op against concurrency",
    sets,
    "ns/op",
    (r) => r.nsPerOp,
    "Wall time per acknowledged proposal (lower is better), median of the runs.",
    {
      // floor-ns is one proposal's latency floor; with conc proposals in flight Little's law
      // turns it into the least wall time per proposal: floor / conc.
      pick: (r) => (r.floorNs === null || r.conc === null ? null : r.floorNs / r.conc),
      note: "Dashed: the speed-of-light floor as ns/op, floor-ns ÷ conc (Little's law: conc proposals in flight, each taking at least the one-proposal floor).",
    },
  );
}

export function p99Plot(sets: readonly ResultSet[]): PlotOutcome {
  return againstConc(
    "p99",
    "p99 proposal latency against concurrency",
    sets,
    "p99 latency (ns)",
    (r) => r.p99Ns,
    "99th percentile of the time from propose to acknowledgement, median of the runs.",
    {
      pick: (r) => r.floorNs,
      note: "Dashed: the run's speed-of-light floor, the latency of one proposal the pipeline's ordering allows with the components as measured.",
    },
  );
}

export function cpuPlot(sets: readonly ResultSet[]): PlotOutcome {
  return againstConc(
    "cpu",
    "CPU per proposal against concurrency",
    sets,
    "CPU µs/op",
    (r) => r.cpuUsPerOp,
    "CPU time per acknowledged proposal (user + system), median of the runs.",
  );
}

export function floorPlot(sets: readonly ResultSet[]): PlotOutcome {
  const outcome = againstConc(
    "x-floor",
    "Distance from the speed-of-light floor (x-floor)",
    sets,
    "× floor",
    (r) => r.xFloor,
    "x-floor as the run printed it: its conc=1-equivalent latency (ns/op × conc) divided by floor-ns; 1 would be the floor itself.",
  );
  if ("skipped" in outcome) {
    outcome.skipped.reason =
      "no run in these files carries a speed-of-light floor (fields floorNs / xFloor)";
  }
  return outcome;
}

export function latencyThroughputPlot(sets: readonly ResultSet[]): PlotOutcome {
  const id = "latency-throughput";
  const title = "Latency against achieved throughput (open loop)";
  const rows: Row[] = [];
  for (const runs of groupRuns(openLoop(sets))) {
    const r = runs[0];
    const throughput = spread(runs, (x) => x.throughput);
    if (throughput === null) continue;
    for (const [percentile, pick] of [
      ["p50", (x: ReportRun) => x.p50Ns],
      ["p99", (x: ReportRun) => x.p99Ns],
    ] as const) {
      const latency = spread(runs, pick);
      if (latency === null) continue;
      rows.push({
        series: r.series,
        offered: r.maxrate,
        bytes: r.bytes,
        percentile,
        throughput: throughput.median,
        latency: latency.median / 1e3,
      });
    }
  }
  if (rows.length === 0) {
    return {
      skipped: {
        id,
        title,
        reason: "no open-loop (--maxrate or --sweep) runs in these files",
      },
    };
  }
  const capacities: Row[] = [];
  for (const runs of groupRuns(openLoop(sets))) {
    const c = spread(runs, (x) => x.capacity);
    if (c !== null) capacities.push({ series: runs[0].series, capacity: c.median });
  }
  const uniqueCapacities = [...new Map(capacities.map((c) => [c.series, c])).values()];
  const curve: UnitSpec<string> = {
    data: { values: rows },
    mark: { type: "line", point: true },
    encoding: {
      x: { field: "throughput", type: "quantitative", title: "achieved proposals/s" },
      y: {
        field: "latency",
        type: "quantitative",
        scale: logScale,
        title: "latency (µs)",
        axis: { format: "~s" },
      },
      color: seriesColor,
      strokeDash: { field: "percentile", type: "nominal" },
      order: { field: "offered", type: "quantitative" },
      tooltip: [
        { field: "series" },
        { field: "offered", title: "offered/s" },
        { field: "throughput", format: ",.0f" },
        { field: "percentile" },
        { field: "latency", format: ",.4~g" },
      ],
    },
  };
  const capacityRule: UnitSpec<string> = {
    data: { values: uniqueCapacities },
    mark: { type: "rule", strokeDash: [2, 2], opacity: 0.7 },
    encoding: { x: { field: "capacity", type: "quantitative" }, color: seriesColor },
  };
  const spec: TopLevelSpec = {
    width: WIDTH,
    height: HEIGHT,
    layer: uniqueCapacities.length > 0 ? [curve, capacityRule] : [curve],
  };
  const capacityNote =
    uniqueCapacities.length > 0
      ? " The thin dotted vertical line is the closed-loop capacity the sweep's steps are shares of."
      : "";
  return {
    plot: {
      id,
      title,
      caption: `One point per offered rate (median of its runs); the knee is where latency climbs while throughput stops growing.${capacityNote}`,
      spec,
    },
  };
}

function roleOrder(a: string, b: string): number {
  return a === "leader" ? -1 : b === "leader" ? 1 : a.localeCompare(b);
}

/**
 * Memory per process: over time where the file has the launcher's samples, with the peak
 * as a dotted rule; as bars of the median per case where only runs carry RSS.
 */
export function rssPlot(sets: readonly ResultSet[]): PlotOutcome {
  const id = "rss";
  const title = "Resident memory (RSS) per process";
  const multiple = sets.length > 1;
  const samples: Row[] = [];
  const peaks: Row[] = [];
  for (const set of sets) {
    for (const p of set.rss) {
      const who = multiple ? `${set.series}: ${p.process}` : p.process;
      for (const [at, bytes] of p.samples)
        samples.push({ process: who, seconds: at, mib: bytes / 2 ** 20 });
      const peak = p.maxRssBytes ?? p.rssBytes;
      if (peak !== null) peaks.push({ process: who, mib: peak / 2 ** 20 });
    }
  }
  if (samples.length > 0 || peaks.length > 0) {
    const color = {
      field: "process",
      type: "nominal" as const,
      title: "process",
      sort: [...new Set(peaks.map((r) => String(r.process)))].sort(roleOrder),
    };
    const layers: UnitSpec<string>[] = [];
    if (samples.length > 0) {
      layers.push({
        data: { values: samples },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "seconds", type: "quantitative", title: "seconds since the leader started" },
          y: { field: "mib", type: "quantitative", title: "RSS (MiB)" },
          color,
          tooltip: [{ field: "process" }, { field: "seconds" }, { field: "mib", format: ",.1f" }],
        },
      });
      layers.push({
        data: { values: peaks },
        mark: { type: "rule", strokeDash: [2, 2] },
        encoding: { y: { field: "mib", type: "quantitative" }, color },
      });
    } else {
      layers.push({
        data: { values: peaks },
        mark: "bar",
        encoding: {
          x: { field: "process", type: "nominal", sort: color.sort, title: null },
          y: { field: "mib", type: "quantitative", title: "peak RSS (MiB)" },
          color,
          tooltip: [{ field: "process" }, { field: "mib", format: ",.1f" }],
        },
      });
    }
    return {
      plot: {
        id,
        title,
        caption:
          samples.length > 0
            ? "RSS of each process as sampled during the session; dotted: each process's peak (VmHWM)."
            : "Peak RSS of each process over the session.",
        spec: { width: WIDTH, height: HEIGHT, layer: layers },
      },
    };
  }
  return perRunRssPlot(sets, id, title);
}

function perRunRssPlot(sets: readonly ResultSet[], id: string, title: string): PlotOutcome {
  const rows: Row[] = [];
  for (const runs of groupRuns(sets.flatMap((s) => s.runs))) {
    const roles = new Set(runs.flatMap((r) => Object.keys(r.rssBytes)));
    for (const role of roles) {
      const s = spread(runs, (r) => r.rssBytes[role] ?? null);
      if (s === null) continue;
      rows.push({ series: runs[0].series, case: runs[0].name, role, mib: s.median / 2 ** 20 });
    }
  }
  if (rows.length === 0) {
    return { skipped: { id, title, reason: "no run in these files records RSS" } };
  }
  const roles = [...new Set(rows.map((r) => String(r.role)))].sort(roleOrder);
  const spec: TopLevelSpec = {
    data: { values: rows },
    facet: { column: { field: "role", type: "nominal", title: null, sort: roles } },
    spec: {
      width: FACET_WIDTH,
      height: FACET_HEIGHT,
      mark: "bar",
      encoding: {
        x: { field: "case", type: "nominal", sort: null, title: null, axis: { labelLimit: 240 } },
        xOffset: { field: "series" },
        y: { field: "mib", type: "quantitative", title: "RSS (MiB)" },
        color: seriesColor,
        tooltip: [{ field: "series" }, { field: "case" }, { field: "mib", format: ",.1f" }],
      },
    },
  };
  return { plot: { id, title, caption: "Median over the runs of each case.", spec } };
}

/** Points a summary-only histogram contributes (min, p50, p90, p99, p99.9, max). */
const SUMMARY_POINTS = 6;

/** Where a percentile sits on the "nines" axis: 90 → 1, 99 → 2, 99.9 → 3; max goes last. */
const MAX_NINES = 6;
function nines(percentile: number): number {
  if (percentile >= 100) return MAX_NINES;
  return Math.min(5, -Math.log10(1 - percentile / 100));
}

function distributionRows(
  sets: readonly ResultSet[],
  wanted: (name: string, d: Distribution) => boolean,
) {
  const rows: Row[] = [];
  const multiple = sets.length > 1;
  for (const set of sets) {
    for (const { role, histograms } of set.roles) {
      for (const [name, d] of Object.entries(histograms)) {
        if (!wanted(name, d)) continue;
        const who = multiple ? `${set.series}: ${role}` : role;
        for (const [p, v] of d.percentiles) {
          rows.push({
            metric: name,
            process: who,
            percentile: p,
            nines: nines(p),
            value: d.unit === "ns" ? v / 1e3 : v,
          });
        }
      }
    }
  }
  return rows;
}

function distributionSpec(rows: Row[], order: readonly string[], yTitle: string): TopLevelSpec {
  // Curves from HDR histograms are dense: markers on each of their points would only add
  // bytes (the SVG of a three-process report roughly halves without them).
  const curves = new Set(rows.map((r) => `${r.metric}\u0000${r.process}`)).size;
  const dense = rows.length > curves * SUMMARY_POINTS;
  const names = [...new Set(rows.map((r) => String(r.metric)))];
  const sort = [
    ...order.filter((n) => names.includes(n)),
    ...names.filter((n) => !order.includes(n)),
  ];
  return {
    data: { values: rows },
    facet: { field: "metric", type: "nominal", sort, title: null },
    columns: 3,
    resolve: { scale: { y: "independent" } },
    spec: {
      width: FACET_WIDTH,
      height: FACET_HEIGHT,
      mark: { type: "line", point: !dense },
      encoding: {
        x: {
          field: "nines",
          type: "quantitative",
          title: "percentile (%)",
          scale: { domain: [0, MAX_NINES] },
          axis: {
            values: [0, 1, 2, 3, 4, 5, 6],
            labelOverlap: false,
            labelFontSize: 10,
            labelExpr:
              "datum.value == 0 ? 'min' : datum.value == 6 ? 'max' : format(100 - pow(10, 2 - datum.value), '.5~f')",
          },
        },
        y: { field: "value", type: "quantitative", scale: logScale, title: yTitle },
        color: { field: "process", type: "nominal", title: "process" },
        tooltip: [
          { field: "process" },
          { field: "metric" },
          { field: "percentile" },
          { field: "value", format: ",.4~g" },
        ],
      },
    },
  };
}

function histogramCaption(sets: readonly ResultSet[], kind: string): string {
  const hdr = sets.some((s) =>
    s.roles.some((r) => Object.values(r.histograms).some((d) => d.fromHdr)),
  );
  const source = hdr
    ? "read from the HDR histograms in the JSON"
    : "from the percentile summaries in the JSON (min, p50, p90, p99, p99.9, max)";
  return `${kind} as percentile curves (a histogram's cumulative view; x is the number of nines), ${source}, over the whole session.`;
}

export function stageLatencyPlot(sets: readonly ResultSet[]): PlotOutcome {
  const id = "stage-latency";
  const title = "Per-stage latency distributions";
  const rows = distributionRows(sets, (_n, d) => d.unit === "ns");
  if (rows.length === 0) {
    return {
      skipped: { id, title, reason: "no stage histograms in these files (run with --metrics)" },
    };
  }
  return {
    plot: {
      id,
      title,
      caption: histogramCaption(sets, "Time per stage (µs)"),
      spec: distributionSpec(rows, EXPECTED_STAGE_LATENCIES, "µs"),
    },
  };
}

export function batchSizePlot(sets: readonly ResultSet[]): PlotOutcome {
  const id = "batch-size";
  const title = "Batch-size distributions";
  const rows = distributionRows(sets, (_n, d) => d.unit !== "ns");
  if (rows.length === 0) {
    return {
      skipped: {
        id,
        title,
        reason: "no batch-size histograms in these files (run with --metrics)",
      },
    };
  }
  return {
    plot: {
      id,
      title,
      caption: histogramCaption(sets, "Entries or messages per batch"),
      spec: distributionSpec(rows, EXPECTED_BATCH_SIZES, "per batch"),
    },
  };
}

/** Notes on histograms the issue names that no file carries, and on missing followers. */
export function histogramGaps(sets: readonly ResultSet[]): string[] {
  const notes: string[] = [];
  const present = new Set(sets.flatMap((s) => s.roles.flatMap((r) => Object.keys(r.histograms))));
  if (present.size === 0) return notes;
  const missing = [...EXPECTED_STAGE_LATENCIES, ...EXPECTED_BATCH_SIZES].filter(
    (n) => !present.has(n),
  );
  if (missing.length > 0) notes.push(`Not recorded in these files: ${missing.join(", ")}.`);
  const followers = sets.some((s) => s.roles.some((r) => r.role !== "leader"));
  if (!followers) notes.push("Only the leader's histograms are in these files (no followers').");
  return notes;
}

/** Every plot of the page, in page order. */
export function allPlots(sets: readonly ResultSet[]): PlotOutcome[] {
  return [
    nsPerOpPlot(sets),
    p99Plot(sets),
    floorPlot(sets),
    latencyThroughputPlot(sets),
    cpuPlot(sets),
    rssPlot(sets),
    stageLatencyPlot(sets),
    batchSizePlot(sets),
  ];
}
