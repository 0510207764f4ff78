// The short version of `make leader-starts`: a few back-to-back leader processes against
// the same followers, one of them with a follower SIGKILLed and restarted mid-run.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runLeaderStarts } from "./leader-starts.js";

const root = mkdtempSync(join(tmpdir(), "rafttoy-starts-"));
after(() => rmSync(root, { recursive: true, force: true }));

test("every back-to-back leader start leads, a follower restart included", async () => {
  const log: string[] = [];
  const r = await runLeaderStarts({
    starts: 4,
    killEvery: 2,
    benchtime: "500ms",
    wal: "mem",
    engine: "mem",
    tick: "50ms",
    dir: join(root, "starts"),
    log: (l) => log.push(l),
  });
  assert.equal(r.outcomes.length, 4);
  assert.equal(r.outcomes.filter((o) => o.killed !== undefined).length, 2);
  assert.equal(r.failedToLead, 0, log.join("\n"));
  assert.equal(r.otherFailures, 0, log.join("\n"));
});
