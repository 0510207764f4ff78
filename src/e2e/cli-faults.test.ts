// Input faults answered at start, from the binaries as a user runs them: one line that says
// what is wrong, exit code 2, nothing started.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { type Binary, startBinary } from "../testing/processes.js";

const root = mkdtempSync(join(tmpdir(), "rafttoy-cli-faults-"));
const plainFile = join(root, "plain");
writeFileSync(plainFile, "not a directory");
after(() => rmSync(root, { recursive: true, force: true }));

const two = ["--peers", "127.0.0.1:7501,127.0.0.1:7502"];
const cases: [Binary, string[], RegExp][] = [
  ["rafttoy-leader", [...two, "--id", "1", "--benchtime", "-1s"], /--benchtime "-1s" is negative/],
  ["rafttoy-leader", [...two, "--id", "1", "--tick", "-5ms"], /--tick: "-5ms" is negative/],
  [
    "rafttoy-leader",
    ["--peers", "localhost:7501,127.0.0.1:7501", "--id", "1"],
    /--peers entries 1 \(localhost:7501\) and 2 \(127\.0\.0\.1:7501\) are the same address/,
  ],
  ["rafttoy-leader", [...two, "--id", "1", "--json", root], /--json .* is a directory/],
  [
    "rafttoy-leader",
    [...two, "--id", "1", "--json", join(plainFile, "r.json")],
    /--json .*: .*regular file/,
  ],
  [
    "rafttoy-follower",
    [...two, "--id", "2", "--data-dir", plainFile],
    /--data-dir .*plain is a regular file, not a directory/,
  ],
];

test("bad input found at start: one line, exit 2", async () => {
  await Promise.all(
    cases.map(async ([bin, args, re]) => {
      const dataDir = args.includes("--data-dir") ? [] : ["--data-dir", join(root, "unused")];
      const p = startBinary(bin, [...args, ...dataDir, "--wal", "mem"]);
      const code = await p.exited;
      const what = `${bin} ${args.join(" ")}`;
      assert.equal(code, 2, `${what}: ${p.stderr()}`);
      const lines = p.stderr().trimEnd().split("\n");
      assert.equal(lines.length, 1, `${what} printed:\n${p.stderr()}`);
      assert.match(lines[0]!, re, what);
    }),
  );
});
