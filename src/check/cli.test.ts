import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const here = resolve(fileURLToPath(new URL(".", import.meta.url)));
const root =
  basename(resolve(here, "../..")) === "dist" ? resolve(here, "../../..") : resolve(here, "../..");
const bin = join(root, "dist", "src", "cmd", "rafttoy-check.js");
const fixture = (name: string) => join(root, "src", "check", "testdata", name);

function run(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
}

test("rafttoy-check exits 0 on a linearizable history, 1 with the window on a violation", () => {
  const ok = run(fixture("ok-concurrent-register.jsonl"));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /^linearizable$/m);
  const bad = run(fixture("bad-stale-read.jsonl"));
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stdout, /← cannot be linearized/);
  const json = run("--json", fixture("bad-reordered-pop.jsonl"));
  assert.equal(json.status, 1);
  const parsed = JSON.parse(json.stdout) as { verdict: string; violations: { key: string }[] };
  assert.equal(parsed.verdict, "violation");
  assert.equal(parsed.violations[0]?.key, "q");
});

test("rafttoy-check refuses bad input in one line with exit status 2", () => {
  const dir = mkdtempSync(join(tmpdir(), "rafttoy-check-"));
  const file = join(dir, "h.jsonl");
  writeFileSync(
    file,
    '{"process":1,"key":"x","f":"get","invoke":0,"complete":1,"status":"ok"}\n{oops\n',
  );
  for (const args of [
    [file],
    [join(dir, "missing.jsonl")],
    [],
    ["--frob", file],
    ["--max-steps", "0", file],
  ]) {
    const r = run(...args);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stdout}`);
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(r.stderr, /^rafttoy-check: /);
  }
  assert.match(run(file).stderr, /line 2: not JSON/);
});
