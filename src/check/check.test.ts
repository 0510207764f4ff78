import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { checkHistory, prepareKey } from "./check.js";
import { formatResult } from "./format.js";
import { ANOMALY_KINDS, generateHistory, plantAnomaly, rng } from "./generate.js";
import { HistoryError, parseHistory } from "./history.js";
import { kvModel } from "./kv-model.js";
import { searchLinearization } from "./search.js";

/** The sources' testdata folder, from src/check/ or its compiled dist/ twin. */
function testdata(): string {
  const up = resolve(fileURLToPath(new URL("../../", import.meta.url)));
  const root = basename(up) === "dist" ? dirname(up) : up;
  return join(root, "src", "check", "testdata");
}

function check(text: string) {
  return checkHistory(parseHistory(text));
}

test("every fixture history gets the verdict its name states (ok-* linearizable, bad-* not)", () => {
  const files = readdirSync(testdata()).filter((f) => f.endsWith(".jsonl"));
  assert.ok(files.length >= 8, `fixtures found: ${files.join(", ")}`);
  for (const file of files) {
    const result = check(readFileSync(join(testdata(), file), "utf8"));
    const expected = file.startsWith("ok-") ? "linearizable" : "violation";
    assert.equal(result.verdict, expected, `${file}:\n${formatResult(result).join("\n")}`);
  }
});

test("a stale read: the window is the write that replaced the value and the read that still saw it", () => {
  const result = check(readFileSync(join(testdata(), "bad-stale-read.jsonl"), "utf8"));
  const [violation] = result.violations;
  assert.ok(violation);
  assert.equal(violation.window.fromAnyState, true);
  assert.deepEqual(
    violation.window.ops.map((o) => [o.input.f, o.source.invoke]),
    [
      ["set", 20],
      ["get", 40],
    ],
  );
  assert.equal(violation.window.culprit?.source.invoke, 40);
  const text = formatResult(result).join("\n");
  assert.match(text, /set "b"/);
  assert.match(text, /get +ok +"a" +← cannot be linearized/);
});

test("a lost write, a duplicate apply and a reordered pop are each caught, on the key they happened to", () => {
  const cases: [string, string][] = [
    // lost: two increments of 1 acknowledged, then the counter reads 1
    [
      `{"process":1,"key":"n","f":"incr","by":1,"invoke":0,"complete":10,"status":"ok","output":1}
{"process":2,"key":"n","f":"incr","by":1,"invoke":20,"complete":30,"status":"ok","output":2}
{"process":3,"key":"other","f":"set","value":"z","invoke":0,"complete":100,"status":"ok"}
{"process":3,"key":"n","f":"get","invoke":40,"complete":45,"status":"ok","output":"1"}`,
      "n",
    ],
    // duplicate: one push popped twice
    [
      `{"process":1,"key":"q","f":"push","value":"a","invoke":0,"complete":10,"status":"ok","output":1}
{"process":2,"key":"q","f":"pop","invoke":20,"complete":30,"status":"ok","output":"a"}
{"process":3,"key":"q","f":"pop","invoke":40,"complete":50,"status":"ok","output":"a"}`,
      "q",
    ],
    // reordered: FIFO broken
    [
      `{"process":1,"key":"q2","f":"push","value":"a","invoke":0,"complete":10,"status":"ok"}
{"process":1,"key":"q2","f":"push","value":"b","invoke":20,"complete":30,"status":"ok"}
{"process":2,"key":"q2","f":"pop","invoke":40,"complete":50,"status":"ok","output":"b"}`,
      "q2",
    ],
  ];
  for (const [text, key] of cases) {
    const result = check(text);
    assert.equal(result.verdict, "violation", text);
    assert.deepEqual(
      result.violations.map((v) => v.key),
      [key],
    );
  }
});

test("the same histories made linearizable by concurrency or indeterminacy pass", () => {
  const cases = [
    // the second increment overlaps the read: the read may come between them
    `{"process":1,"key":"n","f":"incr","by":1,"invoke":0,"complete":10,"status":"ok","output":1}
{"process":2,"key":"n","f":"incr","by":1,"invoke":20,"complete":50,"status":"ok","output":2}
{"process":3,"key":"n","f":"get","invoke":25,"complete":30,"status":"ok","output":"1"}`,
    // the first pop timed out: it may have taken "a"
    `{"process":1,"key":"q","f":"push","value":"a","invoke":0,"complete":10,"status":"ok","output":1}
{"process":1,"key":"q","f":"push","value":"b","invoke":20,"complete":30,"status":"ok","output":2}
{"process":2,"key":"q","f":"pop","invoke":35,"status":"info"}
{"process":3,"key":"q","f":"pop","invoke":40,"complete":50,"status":"ok","output":"b"}`,
    // a timed-out write seen long after it timed out
    `{"process":1,"key":"x","f":"set","value":"a","invoke":0,"status":"info"}
{"process":2,"key":"x","f":"get","invoke":10,"complete":20,"status":"ok","output":null}
{"process":2,"key":"x","f":"get","invoke":1000,"complete":1010,"status":"ok","output":"a"}`,
  ];
  for (const text of cases) assert.equal(check(text).verdict, "linearizable", text);
});

test("a read cannot see a value before the write of it began", () => {
  const result =
    check(`{"process":1,"key":"x","f":"get","invoke":0,"complete":10,"status":"ok","output":"a"}
{"process":2,"key":"x","f":"set","value":"a","invoke":11,"complete":20,"status":"ok"}`);
  assert.equal(result.verdict, "violation");
  // Needs the true initial state (absent): from an unknown state reading "a" is fine.
  assert.equal(result.violations[0]?.window.fromAnyState, false);
});

test("malformed histories are refused with the line that is wrong", () => {
  const bad: [string, RegExp][] = [
    ["not json", /line 1: not JSON/],
    [
      `# comment\n{"process":1,"key":"x","f":"frob","invoke":0,"complete":1,"status":"ok"}`,
      /line 2: "f" must be/,
    ],
    [`{"process":1,"key":"x","f":"get","invoke":5,"complete":1,"status":"ok"}`, /before invoke/],
    [
      `{"process":1,"key":"x","f":"set","invoke":0,"complete":1,"status":"ok"}`,
      /needs a string "value"/,
    ],
    [`{"process":1,"key":"x","f":"get","invoke":0,"complete":1,"status":"done"}`, /status must be/],
    [`{"id":1,"event":"ok","time":3}`, /completes without an invocation/],
  ];
  for (const [text, message] of bad)
    assert.throws(
      () => parseHistory(text),
      (e: unknown) => e instanceof HistoryError && message.test(e.message),
    );
});

const SEEDS = 40;

test("random histories built from a sequential store with concurrency are linearizable", () => {
  for (let seed = 1; seed <= SEEDS; seed++) {
    const { history } = generateHistory({
      seed,
      operations: 400,
      clients: 6,
      infoRate: 0.05,
      failRate: 0.03,
    });
    const result = checkHistory(history);
    assert.equal(
      result.verdict,
      "linearizable",
      `seed ${seed}:\n${formatResult(result).join("\n")}`,
    );
  }
});

test("random histories with a planted anomaly of each kind are not linearizable", () => {
  for (const kind of ANOMALY_KINDS) {
    let planted = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const generated = generateHistory({
        seed,
        operations: 300,
        clients: 5,
        infoRate: 0.03,
        failRate: 0.02,
      });
      const plant = plantAnomaly(generated, kind, rng(seed * 7919));
      if (plant === undefined) continue;
      planted++;
      const result = checkHistory(plant.history, { noWindow: seed > 5 });
      assert.equal(result.verdict, "violation", `${kind}, seed ${seed}: ${plant.description}`);
    }
    assert.ok(planted >= SEEDS / 2, `${kind}: planted in only ${planted} of ${SEEDS} histories`);
  }
});

test("the hashed and the exact cache agree", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const generated = generateHistory({
      seed,
      operations: 200,
      clients: 4,
      infoRate: 0.1,
      failRate: 0.05,
    });
    const kind = ANOMALY_KINDS[seed % ANOMALY_KINDS.length] ?? "stale-read";
    const history =
      (seed % 2 === 0 ? plantAnomaly(generated, kind, rng(seed))?.history : undefined) ??
      generated.history;
    for (const key of new Set(history.map((o) => o.key))) {
      const ops = prepareKey(history.filter((o) => o.key === key));
      const hashed = searchLinearization(kvModel, ops, { cache: "hashed" }).linearizable;
      const exact = searchLinearization(kvModel, ops, { cache: "exact" }).linearizable;
      assert.equal(hashed, exact, `seed ${seed} key ${key}`);
    }
  }
});

test("relabelling unobserved indeterminate writes keeps the verdict (checked against the unrelabelled search)", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const generated = generateHistory({
      seed,
      operations: 150,
      clients: 4,
      infoRate: 0.15,
      failRate: 0.05,
    });
    const kind = ANOMALY_KINDS[seed % ANOMALY_KINDS.length] ?? "stale-read";
    const history =
      (seed % 2 === 0 ? plantAnomaly(generated, kind, rng(seed))?.history : undefined) ??
      generated.history;
    for (const key of new Set(history.map((o) => o.key))) {
      const relabelled = prepareKey(history.filter((o) => o.key === key));
      const original = relabelled.map((o) => ({
        ...o,
        input: o.source.input,
        inputClass: undefined,
      }));
      assert.equal(
        searchLinearization(kvModel, relabelled, { cache: "exact" }).linearizable,
        searchLinearization(kvModel, original, { cache: "exact" }).linearizable,
        `seed ${seed} key ${key}`,
      );
    }
  }
});

test("a 20,000-operation history with timeouts and failures is checked (correctness only; npm run bench:check times 100,000)", () => {
  const { history } = generateHistory({
    seed: 99,
    operations: 20_000,
    clients: 10,
    registers: 3,
    counters: 1,
    queues: 1,
  });
  const result = checkHistory(history);
  assert.equal(result.verdict, "linearizable");
  assert.equal(result.counts.ok + result.counts.fail + result.counts.info, 20_000);
});
