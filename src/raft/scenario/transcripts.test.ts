// Runs every transcript under src/raft/testdata (see commands.ts for the commands). A
// transcript whose output differs fails with a diff; `rafttoy-transcripts --rewrite`
// (npm run transcripts -- --rewrite) writes the actual output into the files instead.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { runTranscript, transcriptDir, transcriptFiles } from "./transcripts.js";

describe("transcripts (src/raft/testdata)", () => {
  const files = transcriptFiles();
  test("there are transcripts to run", () => {
    assert.ok(files.length > 0, `none in ${transcriptDir()}`);
  });
  for (const name of files) {
    test(name, () => {
      const { mismatches } = runTranscript(name, false);
      assert.ok(
        mismatches.length === 0,
        `${mismatches.join("\n\n")}\n\nIf the change is intended, run ` +
          "`npm run transcripts -- --rewrite` and review git diff.",
      );
    });
  }
});
