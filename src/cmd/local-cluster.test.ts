import assert from "node:assert/strict";
import { test } from "node:test";
import { SHARED_NODE_FLAGS } from "../cli/args.js";
import { progressText, splitArgs } from "./local-cluster.js";
import { formatSummaryTable } from "./session-summary.js";

test("splitArgs forwards component and timing flags to every process, the rest to the leader", () => {
  const { shared, leader } = splitArgs([
    "--wal",
    "file",
    "--no-metrics",
    "--bench",
    "conc=1/",
    "--metrics",
    "--tick=50ms",
    "--count",
    "3",
    "--engine",
    "mem",
  ]);
  assert.deepEqual(shared, [
    "--wal",
    "file",
    "--no-metrics",
    "--metrics",
    "--tick=50ms",
    "--engine",
    "mem",
  ]);
  assert.deepEqual(leader, ["--bench", "conc=1/", "--count", "3"]);
});

test("every shared node flag reaches every process", () => {
  for (const flag of SHARED_NODE_FLAGS) {
    const args = flag === "metrics" ? [`--${flag}`] : [`--${flag}`, "x"];
    assert.deepEqual(splitArgs(args), { shared: args, leader: [] }, `--${flag}`);
  }
});

test("the progress text names the run among all runs, its time and proposals", () => {
  const text = progressText(
    {
      kind: "progress",
      runIndex: 3,
      runs: 18,
      name: "conc=64/bytes=256",
      run: 1,
      count: 3,
      elapsedMs: 1234,
      proposals: 52311,
      dropped: 0,
    },
    65_000,
  );
  assert.equal(text, "[3/18] conc=64/bytes=256 run 1/3: 1.2s, 52,311 proposals (session 1:05)");
});

test("the summary table aligns every case's medians under its headers", () => {
  const table = formatSummaryTable([
    {
      name: "conc=1/bytes=256",
      fullName: "BenchmarkRaft/conc=1/bytes=256-2",
      runs: 3,
      proposals: 100,
      dropped: 0,
      nsPerOp: 130508.4,
      mbPerS: 1.9,
      p50Ns: 120000,
      p99Ns: 250000,
      cpuUsPerOp: 170,
      floorNs: 110000,
      xFloor: 1.1864,
    },
    {
      name: "conc=1024/bytes=256",
      fullName: "BenchmarkRaft/conc=1024/bytes=256-2",
      runs: 3,
      proposals: 100,
      dropped: 12,
      nsPerOp: 2570,
      mbPerS: 99,
      p50Ns: 2_000_000,
      p99Ns: 9_000_000,
      cpuUsPerOp: 4,
      floorNs: null,
      xFloor: null,
    },
  ]);
  assert.equal(
    table,
    [
      "benchmark            runs    ns/op     p50 ns     p99 ns  floor ns  x-floor  dropped",
      "-------------------  ----  -------  ---------  ---------  --------  -------  -------",
      "conc=1/bytes=256        3  130,508    120,000    250,000   110,000     1.19",
      "conc=1024/bytes=256     3    2,570  2,000,000  9,000,000         -        -       12",
    ].join("\n"),
  );
});
