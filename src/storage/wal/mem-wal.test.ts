import assert from "node:assert/strict";
import { test } from "node:test";
import { makeEntry, walConformance } from "../../testing/wal-conformance.js";
import { MemWal } from "./mem-wal.js";

walConformance("mem", async () => new MemWal());
walConformance("mem with a sync delay", async () => new MemWal({ syncDelayMs: 1 }));

test("mem: a synced append resolves only after the simulated delay; an unsynced one at once", async () => {
  const wal = new MemWal({ syncDelayMs: 30 });
  let synced = false;
  const pending = wal.append([makeEntry(1, 1, 8)], { sync: true }).then(() => {
    synced = true;
  });
  assert.equal(wal.lastIndex(), 1, "the entry is readable before it is durable");
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.equal(synced, false, "resolved before the delay had passed");
  let unsynced = false;
  await wal.append([makeEntry(2, 1, 8)], { sync: false }).then(() => {
    unsynced = true;
  });
  assert.equal(unsynced, true);
  assert.equal(synced, false);
  await pending;
  assert.equal(synced, true);
  assert.match(wal.syncMode, /30 ms/);
});

test("mem: a negative sync delay is refused with a message naming the option", () => {
  assert.throws(() => new MemWal({ syncDelayMs: -1 }), /syncDelayMs/);
});
