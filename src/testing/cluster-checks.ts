// The end-to-end assertions: every acknowledged proposal is in the log of a quorum at one
// index, each worker's proposals in the order it saw them acknowledged, and applied in that
// order (the engines' applied index covers them and each worker's key holds its last value).
import assert from "node:assert/strict";
import type { Storage } from "../storage/storage.js";
import { kvMap, loggedValues, type ProposeResult } from "./in-process-cluster.js";

export async function checkReplicatedAndApplied(
  storages: readonly Storage[],
  result: ProposeResult,
  opts: { lazyFollowers?: boolean } = {},
): Promise<void> {
  const quorum = Math.floor(storages.length / 2) + 1;
  const logs = storages.map(loggedValues);
  const indexOf = new Map<string, number>();
  for (const [index, value] of logs[0]!) indexOf.set(value, index);
  let maxIndex = 0;
  result.ackedByWorker.forEach((values, w) => {
    let prev = 0;
    for (const value of values) {
      const index = indexOf.get(value);
      assert.ok(index !== undefined, `acknowledged ${value} is not in the leader's log`);
      assert.ok(index > prev, `worker ${w}: ${value} logged at ${index}, before an earlier ack`);
      prev = index;
      maxIndex = Math.max(maxIndex, index);
      const holders = logs.filter((l) => l.get(index) === value).length;
      assert.ok(holders >= quorum, `acknowledged ${value} is logged on ${holders} < ${quorum}`);
    }
  });
  // Lazy followers apply nothing but membership: only the leader's engine holds the data.
  const appliers = opts.lazyFollowers ? storages.slice(0, 1) : storages;
  let applying = 0;
  for (const s of appliers) {
    if (s.engine.appliedIndex() < maxIndex) continue;
    applying++;
    const kv = await kvMap(s);
    result.ackedByWorker.forEach((values, w) => {
      if (values.length === 0) return;
      assert.equal(kv.get(`w${w}`), values[values.length - 1], `key w${w} out of order`);
    });
  }
  const need = opts.lazyFollowers ? 1 : quorum;
  assert.ok(applying >= need, `only ${applying} engines applied up to index ${maxIndex}`);
}
