import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { compareEpoch, fileEpochStore, NO_EPOCH } from "./epoch.js";

test("epochs order by process start, then iteration", () => {
  assert.ok(compareEpoch({ start: 5, iteration: 9 }, { start: 6, iteration: 0 }) < 0);
  assert.ok(compareEpoch({ start: 6, iteration: 2 }, { start: 6, iteration: 1 }) > 0);
  assert.equal(compareEpoch({ start: 6, iteration: 1 }, { start: 6, iteration: 1 }), 0);
});

test("the epoch file survives a reopen; a missing one means no epoch; a damaged one is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "rafttoy-epoch-"));
  try {
    assert.deepEqual(await fileEpochStore(dir).load(), NO_EPOCH);
    await fileEpochStore(dir).save({ start: 1_700_000_000_000, iteration: 3 });
    assert.deepEqual(await fileEpochStore(dir).load(), { start: 1_700_000_000_000, iteration: 3 });
    writeFileSync(join(dir, "epoch.json"), '{"start":"soon"}');
    await assert.rejects(fileEpochStore(dir).load(), /not a valid epoch file: remove it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
