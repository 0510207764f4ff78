import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { test } from "node:test";
import type { KvInput } from "../check/history.js";
import { FakeKvCluster } from "./fake-kv.js";
import type { FaultKind } from "./nemesis.js";
import { KV_BIN, ProcessCluster } from "./process-cluster.js";
import { HistoryRecorder } from "./recorder.js";
import { type RunReport, recoveryByKind } from "./report.js";
import { RespError, RespUnknown } from "./resp-client.js";
import { type RunOutcome, runJepsen } from "./run.js";
import { classify, commandFor } from "./workload.js";

// The runs' own log (nemesis steps, node errors) is kept, not printed: a failed assertion
// on a real cluster quotes its tail, which says why a fault was missing (JEPSEN_TEST_LOG=1
// prints it as it happens).
const runLog: string[] = [];
const quiet = (line: string): void => {
  runLog.push(line);
  if (runLog.length > 200) runLog.shift();
  if (process.env.JEPSEN_TEST_LOG !== undefined) console.error(line);
};
const logTail = (): string => `\nlast log lines:\n${runLog.slice(-20).join("\n")}`;

test("replies are classified: refusals before proposing fail, lost replies of writes are indeterminate", () => {
  const set: KvInput = { f: "set", value: "v" };
  const get: KvInput = { f: "get" };
  assert.deepEqual(classify(set, "OK"), { status: "ok", output: "OK" });
  assert.deepEqual(classify(set, new RespError("CLUSTERDOWN no leader")), { status: "fail" });
  assert.deepEqual(classify(set, new RespError("MOVED 0 127.0.0.1:7001")), { status: "fail" });
  assert.deepEqual(classify(set, new RespUnknown("no reply")), { status: "info" });
  assert.deepEqual(classify(set, new RespError("ERR timeout")), { status: "info" });
  assert.deepEqual(classify(get, new RespUnknown("no reply")), { status: "fail" });
  assert.deepEqual(
    classify({ f: "incr", by: 1 }, new RespError("WRONGTYPE Operation against a key")),
    {
      status: "ok",
      output: { error: "wrong-type" },
    },
  );
  assert.deepEqual(classify({ f: "push", value: "x", end: "right" }, 3), { status: "ok" });
  assert.deepEqual(commandFor("q", { f: "pop", end: "left" }), ["LPOP", "q"]);
  assert.deepEqual(commandFor("n", { f: "incr", by: 1 }), ["INCR", "n"]);
});

test("recoveries are summarised per fault kind; one that never recovered leaves no max", () => {
  const report: RunReport = {
    operations: 0,
    ok: 0,
    fail: 0,
    indeterminate: 0,
    verdict: "linearizable",
    anomalies: 0,
    writeAvailability: 1,
    recoveries: [
      { kind: "kill", node: 0, recoveryUs: 300, caughtUpUs: 2000 },
      { kind: "pause", node: 1, recoveryUs: 50, caughtUpUs: 10 },
      { kind: "kill", node: 2, recoveryUs: 100 },
      { kind: "member", node: 1, recoveryUs: 10 },
      { kind: "member", node: 2, recoveryUs: null },
      { kind: "kill", node: 1, recoveryUs: 200, caughtUpUs: 1000 },
      { kind: "kill", node: 1, recoveryUs: 900, caughtUpUs: null },
    ],
  };
  assert.deepEqual(recoveryByKind(report), [
    {
      kind: "kill",
      faults: 4,
      medianUs: 250,
      maxUs: 900,
      caughtUpMedianUs: 1500,
      caughtUpMaxUs: null,
    },
    { kind: "pause", faults: 1, medianUs: 50, maxUs: 50, caughtUpMedianUs: 10, caughtUpMaxUs: 10 },
    {
      kind: "member",
      faults: 2,
      medianUs: 10,
      maxUs: null,
      caughtUpMedianUs: null,
      caughtUpMaxUs: null,
    },
  ]);
});

test("the recorder turns events into the checker's history, an unfinished one indeterminate", () => {
  const r = new HistoryRecorder();
  const a = r.invoke(1, "k", { f: "set", value: "a" });
  r.invoke(2, "k", { f: "set", value: "b" });
  r.complete(a, "ok", "OK");
  const h = r.history();
  assert.equal(h.length, 2);
  assert.equal(h[0]?.status, "ok");
  assert.equal(h[1]?.status, "info");
  assert.equal(h[1]?.complete, Number.POSITIVE_INFINITY);
  assert.throws(() => r.complete(a, "ok"));
});

test("a run against a linearizable stand-in under kills, pauses, partitions and member changes checks clean, with faults and recoveries reported", async () => {
  const cluster = new FakeKvCluster(3);
  await cluster.start();
  try {
    const outcome = await runJepsen(cluster, () => cluster.targets(), {
      durationMs: 4000,
      workload: { clients: 6, registers: 2, timeoutMs: 300, seed: 3 },
      nemesis: {
        kinds: ["kill", "pause", "partition-split", "member"],
        seed: 3,
        faultMs: 500,
        calmMs: 300,
      },
      log: quiet,
    });
    assert.equal(outcome.report.verdict, "linearizable", outcome.checkText.join("\n"));
    assert.ok(outcome.report.operations > 100);
    assert.ok(outcome.faults.length >= 2, `faults: ${outcome.faults.length}`);
    assert.equal(outcome.report.recoveries.length, outcome.faults.length);
    // Pauses hold replies past the deadline: some writes must have ended indeterminate.
    if (outcome.faults.some((f) => f.kind === "pause")) assert.ok(outcome.report.indeterminate > 0);
  } finally {
    await cluster.stop();
  }
});

test("a fault the cluster cannot be given ends the faults, not the run: the history is still checked", async () => {
  class BrokenSwitch extends FakeKvCluster {
    override async partition(): Promise<void> {
      throw new Error("node 2 is not answering");
    }
  }
  const cluster = new BrokenSwitch(3);
  await cluster.start();
  const lines: string[] = [];
  try {
    const outcome = await runJepsen(cluster, () => cluster.targets(), {
      durationMs: 1500,
      workload: { clients: 2, registers: 1, timeoutMs: 300, seed: 5 },
      nemesis: { kinds: ["partition-split"], seed: 5, faultMs: 100, calmMs: 100 },
      log: (line) => lines.push(line),
    });
    assert.equal(outcome.report.verdict, "linearizable");
    assert.equal(outcome.faults.length, 0);
    assert.ok(outcome.report.operations > 0);
    assert.ok(
      lines.some((l) =>
        /partition-split .* failed, no more faults: node 2 is not answering/.test(l),
      ),
      lines.join("\n"),
    );
  } finally {
    await cluster.stop();
  }
});

test("a run against a stand-in that serves stale reads finds the anomaly", async () => {
  const cluster = new FakeKvCluster(3, { staleReads: true });
  await cluster.start();
  try {
    const outcome = await runJepsen(cluster, () => cluster.targets(), {
      durationMs: 2000,
      workload: { clients: 4, registers: 1, timeoutMs: 300, seed: 4 },
      nemesis: { kinds: [], seed: 4, faultMs: 100, calmMs: 100 },
      log: quiet,
    });
    assert.equal(outcome.report.verdict, "violation");
    assert.ok(outcome.report.anomalies >= 1);
    assert.match(outcome.checkText.join("\n"), /cannot be linearized/);
  } finally {
    await cluster.stop();
  }
});

/** 20 s against three real rafttoy-kv nodes under `kinds`; undefined when not built. */
async function realRun(
  kinds: FaultKind[],
  seed: number,
  fault: { faultMs: number; calmMs: number },
): Promise<RunOutcome | undefined> {
  if (!existsSync(KV_BIN)) return undefined;
  const cluster = await ProcessCluster.start(3, [], quiet);
  try {
    const outcome = await runJepsen(cluster, () => cluster.targets(), {
      durationMs: 20_000,
      workload: { clients: 6, registers: 3, timeoutMs: 2000, seed },
      nemesis: { kinds, seed, ...fault },
      log: quiet,
    });
    assert.equal(outcome.report.verdict, "linearizable", outcome.checkText.join("\n"));
    assert.ok(outcome.report.ok > 0);
    return outcome;
  } finally {
    await cluster.stop();
  }
}

test("a short run against a real rafttoy-kv cluster (SIGKILL, SIGSTOP, leader kill) is linearizable", async (t) => {
  const outcome = await realRun(["kill", "pause", "leader-kill"], 7, {
    faultMs: 2000,
    calmMs: 2000,
  });
  if (outcome === undefined) t.skip("rafttoy-kv is not built in this tree yet");
});

test("a short run against a real rafttoy-kv cluster under partitions and a member change is linearizable", async (t) => {
  // Seed 7 draws partition-leader first and member second, however few faults a loaded
  // machine fits into the 20 s (the partition shapes themselves are partitions.test's).
  const outcome = await realRun(["partition-leader", "member"], 7, { faultMs: 2000, calmMs: 1500 });
  if (outcome === undefined) {
    t.skip("rafttoy-kv is not built in this tree yet");
    return;
  }
  const kinds = new Set(outcome.faults.map((f) => f.kind));
  assert.ok(kinds.has("member"), `faults: ${[...kinds].join(", ")}${logTail()}`);
  assert.ok(kinds.has("partition-leader"), `faults: ${[...kinds].join(", ")}${logTail()}`);
  // Isolating the leader must cost writes for a while: a cluster that ignored the switch
  // would recover at once from every partition-leader fault.
  const isolations = outcome.report.recoveries.filter((r) => r.kind === "partition-leader");
  assert.ok(isolations.length > 0, "seed 7 isolates the leader");
  // Every fault healed before the run ended was followed by the whole cluster catching up.
  for (const f of outcome.faults.slice(0, -1))
    assert.notEqual(f.caughtUpUs, null, `${f.kind} node ${f.node + 1}`);
  for (const r of isolations) assert.ok((r.recoveryUs ?? Infinity) > 100_000, JSON.stringify(r));
});
