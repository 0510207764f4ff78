import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createMetrics } from "../metrics/metrics.js";
import { PROPOSAL_LATENCY } from "../metrics/names.js";
import { ComponentProbes } from "../metrics/probes.js";
import { RaftError } from "../raft/errors.js";
import { parseBenchtime } from "./benchtime.js";
import { candidateCases, literalValues, selectCases } from "./matrix.js";
import { type CaseSummary, fullBenchName, median, summarizeRuns } from "./results.js";
import {
  type BenchReport,
  closedLoopCapacity,
  type PrepareInfo,
  runBenchmarks,
  SWEEP_PERCENTS,
  sweepSteps,
} from "./runner.js";
import type { Proposer } from "./workload.js";

// What tools for Go benchmark output accept: name, N, then value-unit pairs.
const GO_BENCH_LINE =
  /^(Benchmark\S+)\s+(\d+)((?:\s+[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?\s+\S+)*)\s*$/;

function parseGoLine(line: string): { name: string; n: number; metrics: Map<string, number> } {
  const m = GO_BENCH_LINE.exec(line);
  assert.ok(m, `not a Go benchmark line: ${JSON.stringify(line)}`);
  const fields = m[3]!.trim().split(/\s+/);
  const metrics = new Map<string, number>();
  for (let i = 0; i + 1 < fields.length; i += 2) metrics.set(fields[i + 1]!, Number(fields[i]));
  return { name: m[1]!, n: Number(m[2]), metrics };
}

const names = (pattern: string, maxrate = 0) =>
  selectCases(new RegExp(pattern), maxrate).map((c) => c.name);

describe("--bench selection", () => {
  test("the default regex selects the default matrix in order", () => {
    assert.deepEqual(names("."), [
      "conc=1/bytes=256",
      "conc=4/bytes=256",
      "conc=16/bytes=256",
      "conc=64/bytes=256",
      "conc=256/bytes=256",
      "conc=1024/bytes=256",
    ]);
  });

  test("values outside the defaults run when the regex spells them out", () => {
    assert.deepEqual(names("conc=512/bytes=1024"), ["conc=512/bytes=1024"]);
    assert.deepEqual(names("^conc=(512|2048)/bytes=256$"), [
      "conc=512/bytes=256",
      "conc=2048/bytes=256",
    ]);
    assert.deepEqual(names("conc=1/bytes=64"), ["conc=1/bytes=64"]);
  });

  test("a regex naming only bytes sweeps the default concurrencies", () => {
    const selected = names("bytes=4096");
    assert.equal(selected.length, 6);
    assert.ok(selected.every((n) => n.endsWith("/bytes=4096")));
  });

  test("matching is unanchored, as in Go", () => {
    assert.deepEqual(names("conc=1/"), ["conc=1/bytes=256"]);
    assert.deepEqual(names("conc=1"), [
      "conc=1/bytes=256",
      "conc=16/bytes=256",
      "conc=1024/bytes=256",
    ]);
    assert.deepEqual(names("nothing-like-this"), []);
  });

  test("with --maxrate the names are maxrate=R/bytes=N", () => {
    assert.deepEqual(names(".", 5000), ["maxrate=5000/bytes=256"]);
    assert.deepEqual(names("bytes=512", 100), ["maxrate=100/bytes=512"]);
    assert.deepEqual(names("conc=64", 100), []);
  });

  test("literal extraction and a global regex's lastIndex do not leak", () => {
    assert.deepEqual(literalValues("conc=(1|22|333)/bytes=7|conc=9", "conc"), [1, 22, 333, 9]);
    const sticky = /conc=64/g;
    assert.deepEqual(
      selectCases(sticky).map((c) => c.name),
      ["conc=64/bytes=256"],
    );
    assert.equal(candidateCases(/./).length, 6);
  });
});

describe("--benchtime", () => {
  test("durations and counts", () => {
    assert.deepEqual(parseBenchtime("2s"), { kind: "duration", ms: 2000 });
    assert.deepEqual(parseBenchtime("500ms"), { kind: "duration", ms: 500 });
    assert.deepEqual(parseBenchtime("1m30s"), { kind: "duration", ms: 90_000 });
    assert.deepEqual(parseBenchtime("100000x"), { kind: "count", proposals: 100_000 });
  });

  for (const bad of ["", "2", "0x", "0s", "-1s", "2 s", "x", "10y", "1.5x"]) {
    test(`rejects ${JSON.stringify(bad)} with a message that shows the forms`, () => {
      assert.throws(() => parseBenchtime(bad), /e\.g\./);
    });
  }
});

describe("medians", () => {
  test("odd and even counts", () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
  });
});

/** Acknowledges on the next event-loop turn; refuses every `refuseEvery`-th proposal. */
function fakeProposer(refuseEvery = 0): Proposer & { proposals: number } {
  const proposer = {
    proposals: 0,
    async propose(data: Uint8Array): Promise<void> {
      const n = ++proposer.proposals;
      await new Promise((resolve) => setImmediate(resolve));
      if (data.length === 0) throw new Error("empty proposal");
      if (refuseEvery > 0 && n % refuseEvery === 0)
        throw new RaftError("proposal-dropped", "no leader");
    },
  };
  return proposer;
}

describe("runBenchmarks", () => {
  test("prints one parseable line per run, a median line per case, and calls prepare first", async () => {
    const out: string[] = [];
    const prepared: PrepareInfo[] = [];
    const proposer = fakeProposer();
    const report = await runBenchmarks({
      pattern: /^conc=(4|16)\/bytes=(256|100)$/,
      benchtime: parseBenchtime("300x"),
      count: 3,
      maxrate: 0,
      proposer,
      prepare: async (info) => {
        assert.equal(
          proposer.proposals,
          300 * info.index,
          "prepare runs before its run's proposals",
        );
        prepared.push(info);
      },
      config: { pipeline: "basic" },
      walSyncMode: "none",
      out: (l) => out.push(l),
      log: () => {},
      cores: 2,
    });
    assert.equal(proposer.proposals, 4 * 3 * 300);
    assert.deepEqual(
      prepared.map((p) => `${p.index}:${p.benchCase.name}#${p.run}`),
      [
        "0:conc=4/bytes=100#1",
        "1:conc=4/bytes=100#2",
        "2:conc=4/bytes=100#3",
        "3:conc=4/bytes=256#1",
        "4:conc=4/bytes=256#2",
        "5:conc=4/bytes=256#3",
        "6:conc=16/bytes=100#1",
        "7:conc=16/bytes=100#2",
        "8:conc=16/bytes=100#3",
        "9:conc=16/bytes=256#1",
        "10:conc=16/bytes=256#2",
        "11:conc=16/bytes=256#3",
      ],
    );
    // Three run lines, then one "#" median line, for each of the four cases.
    assert.equal(out.length, 16);
    for (let i = 0; i < out.length; i++) {
      if (i % 4 === 3) {
        assert.match(out[i]!, /^# median of 3: BenchmarkRaft\//);
        continue;
      }
      const line = parseGoLine(out[i]!);
      assert.match(line.name, /^BenchmarkRaft\/conc=\d+\/bytes=\d+-2$/);
      assert.equal(line.n, 300);
      assert.deepEqual(
        [...line.metrics.keys()],
        ["ns/op", "MB/s", "p50-ns", "p99-ns", "cpu-us/op"],
      );
      const run = report.runs[i - Math.floor(i / 4)]!;
      assert.equal(line.name, run.fullName);
      // The printed ns/op is wall time / proposals, rounded as printed.
      assert.ok(
        Math.abs(line.metrics.get("ns/op")! - run.wallNs / 300) <= Math.max(1, run.nsPerOp * 0.01),
      );
      const mbs = (run.bytes * 300) / (run.wallNs / 1e9) / 1e6;
      assert.ok(Math.abs(line.metrics.get("MB/s")! - mbs) <= 0.01 + mbs * 0.01, `MB/s ${mbs}`);
      assert.ok(line.metrics.get("p99-ns")! >= line.metrics.get("p50-ns")!);
      assert.ok(line.metrics.get("p50-ns")! > 0);
      assert.ok(line.metrics.get("cpu-us/op")! > 0);
    }
    const [first] = report.summaries;
    assert.equal(first?.runs, 3);
    assert.equal(first?.nsPerOp, median(report.runs.slice(0, 3).map((r) => r.nsPerOp)));
  });

  test("a run that dropped proposals says so in its line and in the JSON", async () => {
    const dir = await mkdtemp(join(tmpdir(), "rafttoy-runner-"));
    try {
      const out: string[] = [];
      const log: string[] = [];
      const metrics = createMetrics(true);
      metrics.histogram(PROPOSAL_LATENCY).record(1234);
      const jsonPath = join(dir, "nested", "results.json");
      await runBenchmarks({
        pattern: /conc=4\//,
        benchtime: parseBenchtime("200x"),
        count: 1,
        maxrate: 0,
        proposer: fakeProposer(10),
        metrics,
        config: { pipeline: "basic", wal: "mem" },
        walSyncMode: "none (memory)",
        jsonPath,
        out: (l) => out.push(l),
        log: (l) => log.push(l),
        cores: 2,
      });
      assert.equal(out.length, 1);
      // benchstat reads every field as a `value unit` pair: no `key=value` at the end.
      assert.doesNotMatch(out[0]!, /=\d+$/);
      const { n, metrics: fields } = parseGoLine(out[0]!);
      assert.equal(n, 180);
      assert.equal(fields.get("dropped"), 20);
      assert.ok(
        log.some((l) => l.includes("proposal-dropped: no leader")),
        log.join("\n"),
      );

      const json = JSON.parse(await readFile(jsonPath, "utf8")) as BenchReport;
      assert.deepEqual(json.config, { pipeline: "basic", wal: "mem" });
      assert.equal(json.walSyncMode, "none (memory)");
      assert.match(json.environment.gitCommit, /^([0-9a-f]{40}|unknown)$/);
      assert.equal(json.environment.node, process.version);
      assert.equal(typeof json.environment.cpuModel, "string");
      assert.ok(json.environment.cpuCores >= 1);
      assert.deepEqual(json.bench, {
        pattern: "conc=4/",
        benchtime: "200x",
        count: 1,
        maxrate: 0,
      });
      assert.deepEqual(json.dropped, {
        total: 20,
        failures: { "proposal-dropped: no leader": 20 },
      });
      assert.equal(json.metrics?.histograms[PROPOSAL_LATENCY]?.count, 1);
      assert.equal(json.runs.length, 1);
      const [run] = json.runs;
      assert.equal(run?.proposals, 180);
      assert.equal(run?.dropped, 20);
      for (const key of [
        "nsPerOp",
        "mbPerS",
        "p50Ns",
        "p99Ns",
        "cpuUsPerOp",
        "wallNs",
        "cpuUs",
      ] as const) {
        assert.equal(typeof run?.[key], "number", key);
      }
      assert.equal(run?.latencyNs.count, 180);
      assert.equal(json.summaries.length, 1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an open-loop run is named by its rate", async () => {
    const out: string[] = [];
    await runBenchmarks({
      pattern: /./,
      benchtime: parseBenchtime("50x"),
      count: 1,
      maxrate: 5_000,
      proposer: fakeProposer(),
      config: {},
      walSyncMode: "none",
      out: (l) => out.push(l),
      log: () => {},
      cores: 1,
    });
    assert.equal(out.length, 1);
    const line = parseGoLine(out[0]!);
    assert.equal(line.name, "BenchmarkRaft/maxrate=5000/bytes=256");
    assert.equal(line.n, 50);
  });

  test("a regex that selects nothing is an error naming the regex", async () => {
    await assert.rejects(
      runBenchmarks({
        pattern: /conc=7x/,
        benchtime: parseBenchtime("1x"),
        count: 1,
        maxrate: 0,
        proposer: fakeProposer(),
        config: {},
        walSyncMode: "none",
        out: () => {},
        log: () => {},
      }),
      /--bench conc=7x matches no benchmark/,
    );
  });

  test("with a component source, each line carries floor-ns and x-floor, and the JSON its inputs", async () => {
    const out: string[] = [];
    const calls: string[] = [];
    const readings = () => {
      const p = new ComponentProbes();
      p.durableAppendNs.recordValue(1_000);
      p.appendSent(2, 1, 0);
      p.appendAcked(2, 1, 0.003);
      return p.snapshot();
    };
    const report = await runBenchmarks({
      pattern: /^conc=4\/bytes=256$/,
      benchtime: parseBenchtime("200x"),
      count: 2,
      maxrate: 0,
      proposer: fakeProposer(),
      components: {
        pipeline: "basic",
        members: 3,
        start: async () => {
          calls.push("start");
        },
        collect: async () => {
          calls.push("collect");
          return { leader: readings(), followers: {} };
        },
      },
      config: {},
      walSyncMode: "none",
      out: (l) => out.push(l),
      log: () => {},
      cores: 2,
    });
    assert.deepEqual(calls, ["start", "collect", "start", "collect"]);
    const line = parseGoLine(out[0]!);
    const run = report.runs[0]!;
    // Ls + the measured round trip (3 us, which holds the follower's sync) + A (none).
    assert.ok(run.floorNs !== null && Math.abs(run.floorNs - 4_000) <= 10, `${run.floorNs}`);
    assert.equal(line.metrics.get("floor-ns"), Math.round(run.floorNs));
    assert.ok(run.xFloor !== null);
    assert.ok(Math.abs(run.xFloor - (run.nsPerOp * 4) / run.floorNs) < 1e-9);
    assert.ok(run.components?.leader.durableAppendNs.hdr.length);
    assert.match(out[2]!, /floor-ns.*x-floor/);
  });

  test("--sweep offers 10 % to 120 % of the closed-loop capacity, step by step", async () => {
    const out: string[] = [];
    const report = await runBenchmarks({
      pattern: /^conc=4\/bytes=64$/,
      benchtime: parseBenchtime("100x"),
      count: 1,
      maxrate: 0,
      sweep: true,
      proposer: fakeProposer(),
      config: {},
      walSyncMode: "none",
      out: (l) => out.push(l),
      log: () => {},
      cores: 2,
    });
    assert.equal(report.runs.length, 1 + SWEEP_PERCENTS.length);
    const capacity = 1e9 / report.runs[0]!.nsPerOp;
    const steps = report.runs.slice(1);
    assert.deepEqual(
      steps.map((r) => r.name),
      SWEEP_PERCENTS.map((p) => `sweep=${p}%/bytes=64`),
    );
    for (const r of steps) {
      assert.ok(r.sweep !== undefined);
      assert.equal(r.maxrate, Math.max(1, Math.round((capacity * r.sweep.percent) / 100)));
      assert.equal(r.sweep.offeredRate, r.maxrate);
      assert.ok(r.achievedRate !== null && r.achievedRate > 0);
    }
    const line = parseGoLine(out[5]!);
    assert.equal(line.metrics.get("target-ops/s"), steps[4]!.maxrate);
    assert.ok(line.metrics.has("achieved-ops/s"));
  });

  test("a sweep starts from the best closed-loop throughput of each payload size", () => {
    const summary = (name: string, nsPerOp: number) =>
      ({ name, nsPerOp }) as unknown as CaseSummary;
    const cases = [
      { name: "conc=1/bytes=8", conc: 1, bytes: 8 },
      { name: "conc=64/bytes=8", conc: 64, bytes: 8 },
      { name: "conc=1/bytes=9", conc: 1, bytes: 9 },
    ];
    const sums = [summary("conc=1/bytes=8", 1000), summary("conc=64/bytes=8", 100)];
    assert.equal(closedLoopCapacity(sums, cases, 8), 1e7);
    assert.equal(closedLoopCapacity(sums, cases, 9), null);
    const steps = sweepSteps(8, 1e7);
    assert.equal(steps[0]!.benchCase.maxrate, 1e6);
    assert.equal(steps.at(-1)!.benchCase.maxrate, 1.2e7);
  });

  test("summaries group runs by name", () => {
    assert.equal(fullBenchName("conc=1/bytes=256", 2), "BenchmarkRaft/conc=1/bytes=256-2");
    assert.deepEqual(summarizeRuns([]), []);
  });
});
