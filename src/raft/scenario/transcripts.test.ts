// Runs every transcript under src/raft/testdata (see commands.ts for the commands). A
// transcript whose output differs fails with a diff; `REWRITE=1 node --test ...` writes the
// actual output into the files instead, to be reviewed with `git diff`.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { env } from "node:process";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { runDatadriven } from "../datadriven/runner.js";
import { TranscriptState, transcriptCommands } from "./commands.js";

// The sources, not dist/: from dist/src/raft/scenario/ (or src/raft/scenario/) up to the
// repository root.
const up = resolve(fileURLToPath(new URL("../../../", import.meta.url)));
const root = basename(up) === "dist" ? dirname(up) : up;
const dir = join(root, "src", "raft", "testdata");
const rewrite = env.REWRITE === "1";

describe("transcripts (src/raft/testdata)", () => {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort();
  test("there are transcripts to run", () => assert.ok(files.length > 0, `none in ${dir}`));
  for (const name of files) {
    test(name, () => {
      const file = join(dir, name);
      const text = readFileSync(file, "utf8");
      const result = runDatadriven(
        `src/raft/testdata/${name}`,
        text,
        () => new TranscriptState(),
        transcriptCommands,
      );
      if (rewrite) {
        if (result.rewritten !== text) writeFileSync(file, result.rewritten);
        return;
      }
      assert.ok(
        result.mismatches.length === 0,
        `${result.mismatches.join("\n\n")}\n\nIf the change is intended, rerun with REWRITE=1 and review git diff.`,
      );
    });
  }
});
