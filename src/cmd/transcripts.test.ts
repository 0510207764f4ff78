import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("./transcripts.js", import.meta.url));

function run(...args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: "utf8" });
}

describe("rafttoy-transcripts", () => {
  test("the checked-in transcripts match: exit 0", () => {
    const r = run();
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^transcripts: all match$/m);
  });

  test("a bad flag or an unknown file is one line on stderr and exit 2", () => {
    for (const args of [["--bogus"], ["no-such.txt"]]) {
      const r = run(...args);
      assert.equal(r.status, 2);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.equal(r.stdout, "");
    }
  });
});
