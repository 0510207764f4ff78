import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { diffLines } from "./diff.js";
import { parseCommandLine, parseFile } from "./parse.js";
import { type Handlers, runDatadriven, UnknownCommandError } from "./runner.js";

// A counter: `add N` adds and prints the sum, `fail` throws.
const handlers: Handlers<{ sum: number }> = {
  add: ({ command, state, print }) => {
    state.sum += Number(command.args[0]!.values[0]);
    print(`sum=${state.sum}`);
  },
  fail: () => {
    throw new Error("refused");
  },
};
const init = () => ({ sum: 0 });

const FILE =
  "# counts\nadd 2\n----\nsum=2\n\n# more\nadd 3\n----\nsum=5\n\nfail\n----\nerror: refused\n";

describe("datadriven runner", () => {
  test("a file whose output matches passes and rewrites to itself", () => {
    const r = runDatadriven("t.txt", FILE, init, handlers);
    assert.deepEqual(r.mismatches, []);
    assert.equal(r.rewritten, FILE);
  });

  test("a differing output fails with the command's place and a diff; rewrite fixes it", () => {
    const planted = FILE.replace("sum=5", "sum=6");
    const r = runDatadriven("t.txt", planted, init, handlers);
    assert.equal(r.mismatches.length, 1);
    assert.match(r.mismatches[0]!, /^t\.txt:7: add 3\n- sum=6\n\+ sum=5$/);
    assert.equal(r.rewritten, FILE);
  });

  test("an unknown command names the known ones", () => {
    assert.throws(
      () => runDatadriven("t.txt", "frobnicate\n----\n", init, handlers),
      (e: unknown) => e instanceof UnknownCommandError && /known: add, fail/.test(e.message),
    );
  });

  test("a command without its separator is a syntax error with a line number", () => {
    assert.throws(() => parseFile("add 1\nsum=1\n", "t.txt"), /t\.txt:2: expected "----"/);
  });

  test("arguments: positional, quoted, key=value and lists", () => {
    const c = parseCommandLine('add-nodes 3 voters=(1,2,3) "a b" async=true empty=()', 1, "t");
    assert.equal(c.name, "add-nodes");
    assert.deepEqual(c.args, [
      { values: ["3"] },
      { key: "voters", values: ["1", "2", "3"] },
      { values: ["a b"] },
      { key: "async", values: ["true"] },
      { key: "empty", values: [] },
    ]);
  });

  test("diff marks removed and added lines around shared ones", () => {
    assert.deepEqual(diffLines(["a", "b", "c"], ["a", "x", "c", "d"]), [
      "  a",
      "- b",
      "+ x",
      "  c",
      "+ d",
    ]);
  });

  test("diff cuts long runs of shared lines to three lines of context", () => {
    const same = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const d = diffLines([...same, "old", ...same], [...same, "new", ...same]);
    assert.deepEqual(d, [
      "  ... (17 same lines)",
      "  l17",
      "  l18",
      "  l19",
      "- old",
      "+ new",
      "  l0",
      "  l1",
      "  l2",
      "  ... (17 same lines)",
    ]);
  });
});
