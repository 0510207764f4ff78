import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  WARMUP_COUNT_CAP,
  WARMUP_MAX_MS,
  WARMUP_MIN_MS,
  WARMUP_PROPOSALS,
  warmUp,
  warmupPlan,
} from "./warmup.js";
import type { Proposer } from "./workload.js";

/** Settles each proposal on the next macrotask; refuses them all with `refuse`. */
class CountingProposer implements Proposer {
  calls = 0;
  constructor(private readonly refuse = false) {}
  async propose(): Promise<void> {
    this.calls++;
    await new Promise((resolve) => setImmediate(resolve));
    if (this.refuse) throw new Error("not the leader");
  }
}

const loop = (proposer: Proposer) => ({
  proposer,
  conc: 2,
  bytes: 16,
  latency: { record: () => {} },
});

describe("warmupPlan", () => {
  test("a count benchtime warms up with one run's proposals, capped, however long it takes", () => {
    assert.deepEqual(warmupPlan({ kind: "count", proposals: 300 }), {
      proposals: 300,
      minMs: 0,
      maxMs: Number.POSITIVE_INFINITY,
    });
    assert.equal(
      warmupPlan({ kind: "count", proposals: 10 * WARMUP_COUNT_CAP }).proposals,
      WARMUP_COUNT_CAP,
    );
  });

  test("a duration benchtime warms up for the minimum, then until the proposals, within the cap", () => {
    assert.deepEqual(warmupPlan({ kind: "duration", ms: 3_000 }), {
      proposals: WARMUP_PROPOSALS,
      minMs: WARMUP_MIN_MS,
      maxMs: WARMUP_MAX_MS,
    });
  });

  test("a run shorter than the minimum warms up for its own length only", () => {
    assert.deepEqual(warmupPlan({ kind: "duration", ms: 200 }), {
      proposals: WARMUP_PROPOSALS,
      minMs: 200,
      maxMs: 200,
    });
  });
});

describe("warmUp", () => {
  test("stops at the proposal count when there is no minimum", async () => {
    const p = new CountingProposer();
    const r = await warmUp(loop(p), { proposals: 50, minMs: 0, maxMs: Number.POSITIVE_INFINITY });
    assert.equal(r.completed, 50);
    assert.equal(p.calls, 50);
  });

  test("goes on past the proposal count until the minimum time", async () => {
    const p = new CountingProposer();
    const r = await warmUp(loop(p), { proposals: 5, minMs: 150, maxMs: 5_000 });
    assert.ok(r.elapsedMs >= 150, `elapsed ${r.elapsedMs}`);
    assert.ok(r.completed > 5, `completed ${r.completed}`);
  });

  test("stops at the time cap with proposals still to do", async () => {
    const p = new CountingProposer();
    const r = await warmUp(loop(p), { proposals: 1e12, minMs: 0, maxMs: 200 });
    assert.ok(r.elapsedMs >= 200, `elapsed ${r.elapsedMs}`);
    // Slices end at the cap, so the warm-up ends within one slice's worth of late timers.
    assert.ok(r.elapsedMs < 200 + 2_000, `elapsed ${r.elapsedMs}`);
    assert.ok(r.completed < 1e12);
  });

  test("a cluster that refuses every proposal ends the warm-up after the minimum, not the cap", async () => {
    const p = new CountingProposer(true);
    const r = await warmUp(loop(p), { proposals: 1_000, minMs: 100, maxMs: 60_000 });
    assert.equal(r.completed, 0);
    assert.ok(p.calls > 0);
    assert.ok(r.elapsedMs >= 100 && r.elapsedMs < 10_000, `elapsed ${r.elapsedMs}`);
  });
});
