// Synthetic result files for the report's tests: the shape src/bench/runner.ts writes, with
// deterministic figures, optionally carrying every optional field the report can draw
// (floor, RSS, open-loop runs, followers' histograms in HDR's encoding).
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodeIntoCompressedBase64 } from "hdr-histogram-js";
import { newHdrHistogram } from "../metrics/histogram.js";

export interface FixtureOptions {
  pipeline?: string;
  concs?: readonly number[];
  count?: number;
  /** Adds floorNs/xFloor, rssBytes, open-loop runs and followers' HDR histograms. */
  complete?: boolean;
  /** Multiplies every ns/op (to make one file slower than another). */
  slowdown?: number;
}

function summary(values: readonly number[]) {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
  return {
    count: s.length,
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    min: s[0]!,
    p50: at(50),
    p90: at(90),
    p99: at(99),
    p999: at(99.9),
    max: s[s.length - 1]!,
  };
}

/** A histogram entry as MetricsJson holds it, plus HDR's encoding under `hdr` when asked. */
function histogramEntry(unit: string, values: readonly number[], withHdr: boolean) {
  const entry: Record<string, unknown> = { unit, ...summary(values) };
  if (withHdr) {
    const h = newHdrHistogram();
    for (const v of values) h.recordValue(v);
    entry.hdr = encodeIntoCompressedBase64(h);
    h.destroy();
  }
  return entry;
}

/** Values spread like a latency: mostly near `base`, a tail up to 20×. */
function latencies(base: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.round(base * (1 + 19 * (i / n) ** 8)));
}

function metrics(withHdr: boolean, leader: boolean) {
  const histograms: Record<string, unknown> = {
    "append-batch-size": histogramEntry("entries", latencies(16, 200), withHdr),
    "append-latency-ns": histogramEntry("ns", latencies(3_000, 200), withHdr),
    "apply-latency-ns": histogramEntry("ns", latencies(1_500, 200), withHdr),
    "pipeline-iteration-latency-ns": histogramEntry("ns", latencies(12_000, 200), withHdr),
  };
  if (leader)
    histograms["proposal-latency-ns"] = histogramEntry("ns", latencies(400_000, 200), withHdr);
  return { enabled: true, backend: "wasm", histograms };
}

/** A result file's content. */
export function fixtureReport(opts: FixtureOptions = {}) {
  const pipeline = opts.pipeline ?? "parallel-append";
  const concs = opts.concs ?? [1, 16, 256];
  const count = opts.count ?? 3;
  const slowdown = opts.slowdown ?? 1;
  const complete = opts.complete ?? false;
  const runs: Record<string, unknown>[] = [];
  const wallNs = 1e9;
  const push = (
    name: string,
    conc: number | null,
    maxrate: number | null,
    nsPerOp: number,
    p99Ns: number,
  ) => {
    for (let run = 1; run <= count; run++) {
      const jitter = 1 + 0.04 * (run - (count + 1) / 2);
      const ns = nsPerOp * jitter;
      const proposals = Math.round(wallNs / ns);
      const r: Record<string, unknown> = {
        name,
        fullName: `BenchmarkRaft/${name}-2`,
        conc,
        maxrate,
        bytes: 256,
        run,
        proposals,
        issued: proposals,
        dropped: 0,
        failures: {},
        wallNs,
        cpuUs: proposals * 2,
        nsPerOp: ns,
        mbPerS: (256 * proposals * 1e3) / wallNs,
        p50Ns: p99Ns / 4,
        p99Ns: p99Ns * jitter,
        cpuUsPerOp: 2 * slowdown * jitter,
        latencyNs: {
          count: proposals,
          mean: p99Ns / 3,
          min: 1,
          p50: p99Ns / 4,
          p90: p99Ns / 2,
          p99: p99Ns,
          p999: p99Ns * 2,
          max: p99Ns * 4,
        },
      };
      if (maxrate !== null) r.sweep = { percent: 0, capacityPerS: 85_000, offeredRate: maxrate };
      if (complete) {
        // floor-ns is a one-proposal latency: about a third of the conc=1-equivalent latency.
        const floorNs = (nsPerOp * (conc ?? 1)) / 3;
        r.floorNs = floorNs;
        r.xFloor = (ns * (conc ?? 1)) / floorNs;
        // (RSS is per session, at the top level, as local-cluster writes it.)
      }
      runs.push(r);
    }
  };
  for (const conc of concs) {
    push(
      `conc=${conc}/bytes=256`,
      conc,
      null,
      (120_000 / Math.sqrt(conc)) * slowdown,
      300_000 * Math.sqrt(conc),
    );
  }
  if (complete) {
    for (const rate of [5_000, 20_000, 50_000, 80_000, 100_000]) {
      const achieved = Math.min(rate, 85_000);
      push(
        `maxrate=${rate}/bytes=256`,
        null,
        rate,
        1e9 / achieved,
        200_000 * (rate > 85_000 ? 40 : 1 + rate / 40_000),
      );
    }
  }
  const report: Record<string, unknown> = {
    startedAt: "2026-12-01T12:00:00.000Z",
    environment: {
      gitCommit: "0123456789abcdef0123456789abcdef01234567",
      node: "v20.20.2",
      platform: "linux",
      arch: "x64",
      cpuModel: "Test CPU",
      cpuCores: 2,
      availableParallelism: 2,
      hostname: "fixture",
    },
    walSyncMode: "wal=mem (none (memory)), engine=mem",
    config: { id: 1, pipeline, wal: "mem", engine: "mem", metrics: true, tickMs: 100 },
    bench: { pattern: ".", benchtime: "1s", count, maxrate: 0 },
    runs,
    summaries: [],
    dropped: { total: 0, failures: {} },
    metrics: metrics(complete, true),
  };
  if (complete) {
    report.followers = [2, 3].map((id) => ({
      id,
      role: `follower ${id}`,
      metrics: metrics(true, false),
    }));
    const mib = 2 ** 20;
    const process = (base: number) => ({
      rssBytes: (base + 20) * mib,
      maxRssBytes: (base + 25) * mib,
      samples: [0, 10, 20, 30].map((atS) => ({ atS, rssBytes: (base + atS / 2) * mib })),
    });
    report.rss = { leader: process(180), "follower 2": process(150), "follower 3": process(151) };
  }
  return report;
}

/** Writes a fixture to `<dir>/<name>.json`; returns its path. */
export async function writeFixture(
  dir: string,
  name: string,
  opts: FixtureOptions = {},
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name}.json`);
  await writeFile(path, `${JSON.stringify(fixtureReport(opts), null, 2)}\n`);
  return path;
}
