import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FAULT_KINDS, formatFaults, parseFaults } from "../raft/sim/faults.js";
import { captureIo as capture } from "../testing/captured-io.js";
import { simMain } from "./sim-cli.js";
import { soakMain } from "./soak.js";

const SUMMARY =
  /^sim: seed=(\d+) nodes=(\d+) steps=(\d+) commits=\d+ elections=\d+ crashes=\d+ partitions=\d+ violations=([01])$/;

describe("rafttoy-sim command line", () => {
  test("a clean run ends with the summary line and exits 0", async () => {
    const io = capture();
    const code = await simMain(["--seed", "3", "--nodes", "3", "--steps", "3000"], io);
    assert.equal(code, 0, io.stdout.join("\n"));
    const m = SUMMARY.exec(io.stdout.at(-1)!);
    assert.ok(m, io.stdout.at(-1));
    assert.deepEqual([m[1], m[2], m[3], m[4]], ["3", "3", "3000", "0"]);
  });

  test("a violation exits 1 with seed, invariant, a reproducing command and the trace", async () => {
    const io = capture();
    const args = ["--seed", "3", "--testing-bug", "ignoreCandidateLogUpToDate", "--trace", "10"];
    const code = await simMain(args, io);
    assert.equal(code, 1, io.stdout.join("\n"));
    const out = io.stdout.join("\n");
    assert.match(out, /^sim: VIOLATION seed=3 invariant=[a-z-]+ step=\d+: /m);
    assert.match(out, /^sim: shortest failing run: rafttoy-sim --seed 3 .*--testing-bug/m);
    assert.ok(io.stdout.filter((l) => l.startsWith("  step ")).length === 10, out);
    const m = SUMMARY.exec(io.stdout.at(-1)!);
    assert.ok(m, io.stdout.at(-1));
    assert.equal(m[4], "1");
  });

  for (const bad of [
    ["--nodes", "0"],
    ["--nodes", "2.5"],
    ["--steps", "abc"],
    ["--seed", "-1"],
    ["--faults", "drop,teleport"],
    ["--testing-bug", "everything"],
    ["--bogus", "1"],
    ["stray"],
  ]) {
    test(`bad input ${bad.join(" ")}: one line on stderr, exit 2`, async () => {
      const io = capture();
      assert.equal(await simMain(bad, io), 2);
      assert.equal(io.stderr.length, 1, io.stderr.join("\n"));
      assert.match(io.stderr[0]!, /^rafttoy-sim: [^\n]+$/);
      assert.deepEqual(io.stdout, []);
    });
  }

  test("--help describes every flag and the output", async () => {
    const io = capture();
    assert.equal(await simMain(["--help"], io), 0);
    const help = io.stdout.join("\n");
    for (const flag of ["--nodes", "--steps", "--seed", "--faults", "--async", "--trace"]) {
      assert.ok(help.includes(flag), `help lacks ${flag}`);
    }
    for (const kind of FAULT_KINDS) assert.ok(help.includes(kind), `help lacks ${kind}`);
    assert.match(help, /violations=/);
  });
});

describe("fault sets", () => {
  test("none, all and lists round-trip", () => {
    assert.equal(parseFaults("none").size, 0);
    assert.equal(parseFaults("all").size, FAULT_KINDS.length);
    assert.deepEqual([...parseFaults("crash, drop")].sort(), ["crash", "drop"]);
    for (const spec of ["none", "all", "drop,crash", "compact"]) {
      assert.deepEqual(parseFaults(formatFaults(parseFaults(spec))), parseFaults(spec));
    }
    assert.throws(() => parseFaults(""), /unknown fault/);
  });
});

describe("soak", () => {
  test("runs the seeds it is given and reports them", async () => {
    const io = capture();
    const args = ["--seeds", "2", "--steps", "2000", "--first-seed", "40", "--nodes", "3"];
    assert.equal(await soakMain(args, io), 0, io.stdout.join("\n"));
    assert.match(io.stdout.at(-1)!, /^soak: 2 seeds x 2000 steps, \d+ commits, no violation$/);
    assert.ok(io.stderr.some((l) => l.includes("sim: seed=40 ")));
    assert.ok(io.stderr.some((l) => l.includes("sim: seed=41 ")));
  });

  test("bad input is one line and exit 2", async () => {
    const io = capture();
    assert.equal(await soakMain(["--seeds", "many"], io), 2);
    assert.equal(io.stderr.length, 1);
  });
});
