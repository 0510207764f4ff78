import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatMetrics, formatNanos } from "./format.js";
import { createMetrics } from "./metrics.js";
import {
  APPEND_BATCH_SIZE,
  APPEND_LATENCY,
  APPLY_BATCH_SIZE,
  APPLY_LATENCY,
  KNOWN_HISTOGRAMS,
  PIPELINE_ITERATION_LATENCY,
  PROPOSAL_LATENCY,
  TRANSPORT_BATCH_MESSAGES,
  unitOf,
} from "./names.js";

/**
 * The range a p-th percentile of a sorted array may take: nearest rank, give or take one rank,
 * since percentile definitions differ in how they round the rank.
 */
function percentileRange(sorted: readonly number[], p: number): [number, number] {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return [sorted[Math.max(0, rank - 2)]!, sorted[Math.min(sorted.length - 1, rank)]!];
}

/** xorshift32, so a failing case can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

describe("metrics disabled", () => {
  test("hands out one shared recorder that records nothing", () => {
    const metrics = createMetrics(false);
    const a = metrics.histogram(APPEND_LATENCY);
    const b = metrics.histogram(PROPOSAL_LATENCY);
    assert.equal(a, b, "disabled histograms must share one null object");
    assert.ok(Object.isFrozen(a), "the shared recorder must not be mutable by a caller");
    for (let i = 0; i < 1000; i++) a.record(i);
    assert.deepEqual(metrics.snapshot(), []);
    assert.deepEqual(metrics.toJSON(), { enabled: false, backend: "none", histograms: {} });
    assert.equal(formatMetrics(metrics), "metrics: disabled\n");
  });
});

describe("metrics enabled", () => {
  test("the same name gives the same recorder; each name its own histogram", () => {
    const metrics = createMetrics(true);
    const a = metrics.histogram(APPEND_BATCH_SIZE);
    assert.equal(metrics.histogram(APPEND_BATCH_SIZE), a);
    const b = metrics.histogram(APPLY_BATCH_SIZE);
    assert.notEqual(a, b);
    a.record(3);
    a.record(5);
    b.record(7);
    const byName = new Map(metrics.snapshot().map((s) => [s.name, s]));
    assert.equal(byName.get(APPEND_BATCH_SIZE)?.count, 2);
    assert.equal(byName.get(APPEND_BATCH_SIZE)?.unit, "entries");
    assert.equal(byName.get(APPLY_BATCH_SIZE)?.max, 7);
  });

  for (const seed of [1, 0xdecaf, 20261122]) {
    test(`percentiles match a sorted array within HDR precision (seed ${seed})`, () => {
      const random = rng(seed);
      const metrics = createMetrics(true);
      const recorder = metrics.histogram(PROPOSAL_LATENCY);
      const values: number[] = [];
      for (let i = 0; i < 20_000; i++) {
        // Log-uniform over 1 µs .. 100 ms, the spread of real proposal latencies.
        const v = Math.floor(1_000 * 10 ** (random() * 5));
        values.push(v);
        recorder.record(v);
      }
      values.sort((x, y) => x - y);
      const [snap] = metrics.snapshot();
      assert.ok(snap);
      assert.equal(snap.count, values.length, `seed ${seed}`);
      const mean = values.reduce((s, v) => s + v, 0) / values.length;
      assert.ok(
        Math.abs(snap.mean - mean) / mean < 1e-3,
        `mean ${snap.mean} vs ${mean}, seed ${seed}`,
      );
      // Three significant digits: every figure within 0.1 % of the exact one.
      for (const [p, got] of [
        [50, snap.p50],
        [90, snap.p90],
        [99, snap.p99],
        [99.9, snap.p999],
      ] as const) {
        const [low, high] = percentileRange(values, p);
        assert.ok(
          got >= low * (1 - 1e-3) - 1 && got <= high * (1 + 1e-3) + 1,
          `p${p}: histogram ${got}, exact between ${low} and ${high}, seed ${seed}`,
        );
      }
      const max = values.at(-1)!;
      assert.ok(Math.abs(snap.max - max) <= max * 1e-3, `max ${snap.max} vs ${max}, seed ${seed}`);
      assert.ok(Math.abs(snap.min - values[0]!) <= values[0]! * 1e-3 + 1, `min, seed ${seed}`);
    });
  }

  test("negative and NaN values are recorded as 0 instead of throwing", () => {
    const metrics = createMetrics(true);
    const r = metrics.histogram(APPLY_LATENCY);
    r.record(-5);
    r.record(Number.NaN);
    const [snap] = metrics.snapshot();
    assert.equal(snap?.count, 2);
    assert.equal(snap?.max, 0);
  });

  test("reset empties histograms and keeps their names", () => {
    const metrics = createMetrics(true);
    metrics.histogram(APPLY_LATENCY).record(10);
    metrics.reset();
    assert.deepEqual(
      metrics.snapshot().map((s) => [s.name, s.count]),
      [[APPLY_LATENCY, 0]],
    );
  });

  test("toJSON lists every histogram with unit and figures", () => {
    const metrics = createMetrics(true);
    metrics.histogram(TRANSPORT_BATCH_MESSAGES).record(12);
    metrics.histogram(PIPELINE_ITERATION_LATENCY).record(40_000);
    const json = JSON.parse(JSON.stringify(metrics));
    assert.equal(json.enabled, true);
    assert.match(json.backend, /^(wasm|js)$/);
    assert.equal(json.histograms[TRANSPORT_BATCH_MESSAGES].unit, "messages");
    assert.equal(json.histograms[TRANSPORT_BATCH_MESSAGES].count, 1);
    assert.equal(json.histograms[PIPELINE_ITERATION_LATENCY].unit, "ns");
    for (const key of ["count", "mean", "min", "p50", "p90", "p99", "p999", "max"]) {
      assert.equal(typeof json.histograms[PIPELINE_ITERATION_LATENCY][key], "number", key);
    }
  });
});

describe("names", () => {
  test("every histogram the issue asks for has a known unit", () => {
    const required = [
      APPEND_BATCH_SIZE,
      APPLY_BATCH_SIZE,
      PIPELINE_ITERATION_LATENCY,
      APPEND_LATENCY,
      APPLY_LATENCY,
      PROPOSAL_LATENCY,
      TRANSPORT_BATCH_MESSAGES,
    ];
    assert.equal(new Set(required).size, required.length, "names must be distinct");
    for (const name of required) assert.ok(KNOWN_HISTOGRAMS.has(name), name);
    assert.equal(unitOf("custom-wait-ns"), "ns");
    assert.equal(unitOf("custom-things"), "count");
  });
});

describe("formatMetrics", () => {
  test("one header and one row per histogram, with units", () => {
    const metrics = createMetrics(true);
    const latency = metrics.histogram(APPEND_LATENCY);
    for (let v = 100_000; v <= 300_000; v += 1_000) latency.record(v);
    metrics.histogram(APPEND_BATCH_SIZE).record(64);
    metrics.histogram(APPLY_BATCH_SIZE);
    const lines = formatMetrics(metrics).trimEnd().split("\n");
    assert.equal(lines.length, 4);
    assert.deepEqual(lines[0]!.split(/\s+/), [
      "histogram",
      "unit",
      "count",
      "mean",
      "p50",
      "p90",
      "p99",
      "max",
    ]);
    const latencyRow = lines[1]!.split(/\s+/);
    assert.equal(latencyRow[0], APPEND_LATENCY);
    assert.equal(latencyRow[1], "time");
    assert.equal(latencyRow[2], "201");
    assert.equal(latencyRow[4], "200µs", "p50 of 100..300 µs");
    assert.equal(latencyRow[7], "300µs");
    assert.deepEqual(lines[2]!.split(/\s+/), [
      APPEND_BATCH_SIZE,
      "entries",
      "1",
      ...Array(5).fill("64"),
    ]);
    assert.deepEqual(lines[3]!.split(/\s+/), [
      APPLY_BATCH_SIZE,
      "entries",
      "0",
      ...Array(5).fill("-"),
    ]);
  });

  test("formatNanos picks the unit that keeps the figure readable", () => {
    assert.equal(formatNanos(950), "950ns");
    assert.equal(formatNanos(1_500), "1.50µs");
    assert.equal(formatNanos(45_250), "45.3µs");
    assert.equal(formatNanos(2_340_000), "2.34ms");
    assert.equal(formatNanos(3_000_000_000), "3s");
  });
});
