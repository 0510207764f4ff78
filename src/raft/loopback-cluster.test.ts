import assert from "node:assert/strict";
import { test } from "node:test";
import { LoopbackCluster } from "./loopback-cluster.js";

for (const asyncStorageWrites of [false, true]) {
  test(`the loopback cluster commits and applies every batch on every node (async=${asyncStorageWrites})`, () => {
    const c = new LoopbackCluster({ asyncStorageWrites, retainEntries: 100 });
    const before = c.minApplied();
    const datas = Array.from({ length: 50 }, (_, i) => new Uint8Array([i]));
    for (let i = 0; i < 200; i++) c.proposeBatch(datas);
    assert.equal(c.minApplied() - before, 200 * 50);
  });
}
