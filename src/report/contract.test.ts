// The report reads what the runner writes: results built with the runner's own functions
// (not the hand-made fixture) must come through with their figures. A renamed field in
// src/bench/results.ts fails here instead of silently emptying a plot.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Floor } from "../bench/floor.js";
import { type RunMeasurement, runResult } from "../bench/results.js";
import { compareSamples, samplesFromText } from "./compare.js";
import { parseResultSet } from "./input.js";

const latency = {
  count: 1000,
  mean: 900,
  min: 100,
  p50: 800,
  p90: 1500,
  p99: 4000,
  p999: 9000,
  max: 12000,
};
const floor: Floor = {
  floorNs: 600,
  formula: "max(Ls, R+Fs)+A",
  components: {
    leaderSyncNs: 300,
    followerSyncNs: { "2": 300 },
    followerSyncSource: "followers",
    oneWayNs: { "2": 100 },
    oneWaySource: "transport",
    applyNs: 100,
    followersNeeded: 1,
  },
};
const measurement = (proposals: number, extra: Partial<RunMeasurement> = {}): RunMeasurement => ({
  proposals,
  issued: proposals,
  failures: {},
  dropped: 0,
  wallNs: 1e9,
  cpuUs: proposals * 3,
  latencyNs: latency,
  floor,
  ...extra,
});

function resultFile() {
  const closed = [1, 2, 3].map((run) =>
    runResult({ name: "conc=4/bytes=256", bytes: 256, conc: 4 }, run, 2, measurement(4000 + run)),
  );
  const sweep = {
    ...runResult(
      { name: "sweep=50%/bytes=256", bytes: 256, maxrate: 2000 },
      1,
      2,
      measurement(2000, { achievedRate: 1990 }),
    ),
    sweep: { percent: 50, capacityPerS: 4000, offeredRate: 2000 },
  };
  return {
    config: { pipeline: "parallel-append" },
    runs: [...closed, sweep],
    metrics: { enabled: true, backend: "wasm", histograms: {} },
  };
}

test("the runner's results reach the report's model with every figure", () => {
  const set = parseResultSet("r.json", JSON.stringify(resultFile()));
  const closed = set.runs.filter((r) => r.conc === 4);
  assert.equal(closed.length, 3);
  const first = closed[0]!;
  assert.equal(first.nsPerOp, 1e9 / 4001);
  assert.equal(first.p99Ns, 4000);
  assert.equal(first.floorNs, 600);
  // x-floor is the runner's: ns/op × conc over the floor.
  assert.equal(first.xFloor, ((1e9 / 4001) * 4) / 600);
  assert.equal(first.cpuUsPerOp, 3);
  const step = set.runs.find((r) => r.name.startsWith("sweep="))!;
  assert.equal(step.conc, null);
  assert.equal(step.maxrate, 2000);
  assert.equal(step.throughput, 1990);
  assert.equal(step.capacity, 4000);
});

test("the runner's results reach the comparison", () => {
  const text = JSON.stringify(resultFile());
  const samples = samplesFromText("r.json", text);
  assert.equal(samples.get("conc=4/bytes=256")!.get("nsPerOp")!.length, 3);
  assert.equal(samples.get("conc=4/bytes=256")!.get("xFloor")!.length, 3);
  const c = compareSamples(samples, samplesFromText("r.json", text));
  assert.deepEqual(
    c.metrics.map((m) => m.unit),
    ["ns/op", "MB/s", "p50-ns", "p99-ns", "cpu-us/op", "x-floor"],
  );
});
