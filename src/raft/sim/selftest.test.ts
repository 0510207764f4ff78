// The checker must be able to fail: with a safety rule of the core switched off, the
// simulator has to find a violation within a few seeds.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { TestingBugs } from "../api.js";
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

  // The Raft paper's Figure 8 needs several leader changes in a precise order; with the
  // simulator's default fault mix about one 3-node run in 30 gets there.
  test("commits of earlier-term entries by counting are caught", () => {
    const found = findViolation({ commitPreviousTermByCount: true }, 200, 3, false);
    const v = found.result.violation!;
    assert.ok(SAFETY.has(v.invariant), `seed ${found.opts.seed}: ${v.invariant}: ${v.detail}`);
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
