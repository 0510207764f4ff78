import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { scenarios } from "./scenarios.js";

// Resolved from the repository root, so the compiled tests in dist/ read the same files.
const dir = join(process.cwd(), "src", "raft", "testdata");
const update = process.env.UPDATE_TRANSCRIPTS === "1";

describe("scenario transcripts", () => {
  for (const s of scenarios) {
    test(s.name, () => {
      const actual = `${s.run().join("\n")}\n`;
      const file = join(dir, `${s.name}.txt`);
      if (update) {
        mkdirSync(dir, { recursive: true });
        writeFileSync(file, actual);
        return;
      }
      assert.ok(
        existsSync(file),
        `missing ${file}: run the tests with UPDATE_TRANSCRIPTS=1 to create it`,
      );
      const expected = readFileSync(file, "utf8");
      assert.equal(
        actual,
        expected,
        `transcript ${s.name} changed; if intended, rerun with UPDATE_TRANSCRIPTS=1 and review the diff`,
      );
    });
  }
});
