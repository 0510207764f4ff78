import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ProgressState, ProgressStatus, Status } from "../raft/api.js";
import { CatchUpReporter } from "./catch-up.js";

function status(commit: number, peers: Record<number, [ProgressState, number]>): Status {
  const progress = new Map<number, ProgressStatus>();
  progress.set(1, progressOf("replicate", commit));
  for (const [id, [state, match]] of Object.entries(peers)) {
    progress.set(Number(id), progressOf(state, match));
  }
  return {
    id: 1,
    term: 2,
    vote: 1,
    commit,
    lead: 1,
    role: "leader",
    applied: commit,
    leadTransferee: 0,
    progress,
  };
}

function progressOf(state: ProgressState, match: number): ProgressStatus {
  return {
    match,
    next: match + 1,
    state,
    isLearner: false,
    recentActive: true,
    pendingSnapshot: 0,
    inflight: 0,
  };
}

describe("CatchUpReporter", () => {
  test("a follower that fell behind is reported once, then once when it has caught up", () => {
    const r = new CatchUpReporter(1);
    assert.deepEqual(r.observe(0, status(10, { 2: ["replicate", 10], 3: ["replicate", 10] })), []);
    const fell = r.observe(100, status(20, { 2: ["replicate", 20], 3: ["probe", 12] }));
    assert.deepEqual(fell, ["peer 3 fell behind (probe at index 12, commit 20)"]);
    assert.deepEqual(r.observe(200, status(30, { 2: ["replicate", 30], 3: ["probe", 12] })), []);
    // Back at 300 (its match moves), level with the commit at 712.
    assert.deepEqual(
      r.observe(300, status(40, { 2: ["replicate", 40], 3: ["replicate", 20] })),
      [],
    );
    const caught = r.observe(712, status(50, { 2: ["replicate", 50], 3: ["replicate", 50] }));
    assert.deepEqual(caught, ["peer 3 caught up in 412 ms (38 entries, away 200 ms before)"]);
    assert.deepEqual(
      r.observe(800, status(60, { 2: ["replicate", 60], 3: ["replicate", 60] })),
      [],
    );
  });

  test("followers still probing at the start of a term are not 'behind'", () => {
    const r = new CatchUpReporter(1);
    assert.deepEqual(r.observe(0, status(3, { 2: ["probe", 0], 3: ["probe", 0] })), []);
    r.observe(10, status(3, { 2: ["replicate", 3], 3: ["replicate", 3] }));
    r.reset();
    assert.deepEqual(r.observe(20, status(3, { 2: ["probe", 0], 3: ["probe", 0] })), []);
  });
});
