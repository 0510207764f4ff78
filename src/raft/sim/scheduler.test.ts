import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { parseFaults } from "./faults.js";
import { reproduceCommand, type SimOptions, type SimResult, summaryLine } from "./options.js";
import { runSimulation } from "./scheduler.js";

const ALL = parseFaults("all");
const SEEDS_PER_MODE = 25;
const STEPS = 20_000;

function explain(opts: SimOptions, r: SimResult): string {
  const v = r.violation;
  const what = v === undefined ? "no violation" : `${v.invariant} at step ${v.step}: ${v.detail}`;
  return `seed ${opts.seed} (${reproduceCommand(opts)}): ${what}\n${r.trace.slice(-20).join("\n")}`;
}

/** Seeds differ per mode; a third of the runs use 3 nodes, the rest 5. */
function runSeeds(async: boolean): void {
  const base = async ? 2000 : 1000;
  for (let i = 0; i < SEEDS_PER_MODE; i++) {
    const opts: SimOptions = {
      seed: base + i,
      nodes: i % 3 === 0 ? 3 : 5,
      steps: STEPS,
      faults: ALL,
      async,
      traceSize: 20,
    };
    const r = runSimulation(opts);
    assert.equal(r.violation, undefined, explain(opts, r));
    assert.equal(r.steps, STEPS);
    // Faults were injected, and the cluster kept committing through them.
    assert.ok(r.crashes > 0 && r.partitions > 0, `seed ${opts.seed}: ${summaryLine(r)}`);
    assert.ok(r.commits >= 100, `seed ${opts.seed} committed too little: ${summaryLine(r)}`);
  }
}

describe("simulator with all faults", () => {
  test(`${SEEDS_PER_MODE} seeds x ${STEPS} steps, synchronous storage`, () => runSeeds(false));
  test(`${SEEDS_PER_MODE} seeds x ${STEPS} steps, asyncStorageWrites`, () => runSeeds(true));
});

describe("simulator determinism", () => {
  for (const async of [false, true]) {
    test(`a seed replays the same run (${async ? "async" : "sync"})`, () => {
      const opts: SimOptions = {
        seed: 7,
        nodes: 5,
        steps: 8000,
        faults: ALL,
        async,
        traceSize: 50,
      };
      const a = runSimulation(opts);
      const b = runSimulation(opts);
      assert.equal(summaryLine(a), summaryLine(b));
      assert.deepEqual(a.trace, b.trace);
      const other = runSimulation({ ...opts, seed: 8 });
      assert.notDeepEqual(other.trace, a.trace, "seeds 7 and 8 ran identically");
    });
  }

  test("without faults nothing crashes or partitions, and every proposal window commits", () => {
    const opts: SimOptions = {
      seed: 11,
      nodes: 3,
      steps: 10_000,
      faults: parseFaults("none"),
      async: false,
    };
    const r = runSimulation(opts);
    assert.equal(r.violation, undefined, explain(opts, r));
    assert.equal(r.crashes, 0);
    assert.equal(r.partitions, 0);
    assert.ok(r.commits > 0);
  });
});
