// The checker must be able to fail: with a safety or liveness rule of the core switched
// off, the simulator has to find a violation within a few seeds, and each property of
// properties/ must be the one that catches the bug planted for it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TestingBugs } from "../api.js";
import type { InvariantName } from "./checker.js";
import { parseFaults } from "./faults.js";
import type { SimOptions, SimResult } from "./options.js";
import { runSimulation } from "./scheduler.js";
import { shrink } from "./shrink.js";

interface Found {
  opts: SimOptions;
  result: SimResult;
}

function findViolation(bugs: TestingBugs, seeds: number, nodes: number, async: boolean): Found {
  const tried: string[] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    const opts: SimOptions = {
      seed,
      nodes,
      steps: 20_000,
      faults: parseFaults("all"),
      async,
      testingBugs: bugs,
      traceSize: 30,
    };
    const result = runSimulation(opts);
    if (result.violation !== undefined) return { opts, result };
    tried.push(String(seed));
  }
  assert.fail(`no violation with ${JSON.stringify(bugs)} in seeds ${tried.join(",")}`);
}

const SAFETY = new Set([
  "election-safety",
  "log-matching",
  "committed-entry-stable",
  "leader-completeness",
  "state-machine-safety",
  "read-index-linearizable",
  "commit-own-term",
  "commit-quorum",
]);

describe("simulator self-test with deliberately broken cores", () => {
  for (const async of [false, true]) {
    const mode = async ? "async" : "sync";
    test(`votes for candidates with stale logs are caught (${mode})`, () => {
      const found = findViolation({ ignoreCandidateLogUpToDate: true }, 10, 5, async);
      const v = found.result.violation!;
      assert.ok(SAFETY.has(v.invariant), `seed ${found.opts.seed}: ${v.invariant}: ${v.detail}`);
    });
  }

  // Each planted bug and the property that must be the first to notice it.
  const planted: [keyof TestingBugs, InvariantName][] = [
    ["commitWithoutMajority", "commit-quorum"],
    ["matchRunsAhead", "match-agreement"],
    ["readIndexWithoutQuorum", "read-index-quorum"],
    ["checkQuorumNeverStepsDown", "check-quorum-step-down"],
    ["transferSkipsTimeoutNow", "transfer-completes"],
    ["electionTimerIgnoresLeader", "calm-term-stable"],
  ];
  for (const [bug, invariant] of planted) {
    for (const async of [false, true]) {
      test(`${bug} is caught by ${invariant} (${async ? "async" : "sync"})`, () => {
        const found = findViolation({ [bug]: true }, 10, 5, async);
        const v = found.result.violation!;
        assert.equal(
          v.invariant,
          invariant,
          `seed ${found.opts.seed}: ${v.invariant}: ${v.detail}`,
        );
      });
    }
  }

  // Committing an earlier term's entry by counting replicas (the Raft paper's Figure 8) is
  // caught at the moment it happens, by the leader's commitment rule, on most seeds; the
  // damage it can do later (a committed entry overwritten) needs leader changes in a
  // precise order that few runs reach.
  test("commits of earlier-term entries by counting are caught on at least half of the seeds", () => {
    const seeds = 20;
    const missed: number[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const result = runSimulation({
        seed,
        nodes: 3,
        steps: 20_000,
        faults: parseFaults("all"),
        async: seed % 2 === 0,
        testingBugs: { commitPreviousTermByCount: true },
        traceSize: 1,
      });
      const v = result.violation;
      if (v === undefined) missed.push(seed);
      else assert.ok(SAFETY.has(v.invariant), `seed ${seed}: ${v.invariant}: ${v.detail}`);
    }
    assert.ok(
      missed.length <= seeds / 2,
      `caught on ${seeds - missed.length}/${seeds} seeds only; missed ${missed.join(",")}`,
    );
  });

  test("a shrunk failing run reproduces from its own options", () => {
    const found = findViolation({ ignoreCandidateLogUpToDate: true }, 10, 5, false);
    const short = shrink(found, 6);
    const v = short.result.violation!;
    const original = found.result.violation!;
    assert.equal(v.invariant, original.invariant);
    assert.ok(v.step <= original.step);
    assert.ok(short.opts.steps <= found.opts.steps);
    const again = runSimulation(short.opts);
    assert.deepEqual(again.violation, v, `seed ${short.opts.seed} did not reproduce`);
    assert.deepEqual(again.trace, short.result.trace);
  });
});
