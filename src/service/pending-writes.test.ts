import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BackendError, type KvResult } from "./contract.js";
import { type PendingBatch, PendingWrites } from "./pending-writes.js";

const TIMEOUT = 10_000;
const GRACE = 2_000;

/** What became of a write: its result, its error's code and message, or nothing yet. */
function watch(p: Promise<unknown>): { outcome?: string } {
  const seen: { outcome?: string } = {};
  p.then(
    (r) => {
      seen.outcome = `ok ${JSON.stringify(r)}`;
    },
    (e: BackendError) => {
      seen.outcome = `${e.code}: ${e.message}`;
    },
  );
  return seen;
}

const turn = () => new Promise((r) => setImmediate(r));

/** Adds a batch whose callbacks settle a promise, for watch(). */
function add(
  w: PendingWrites,
  ids: number[],
  now: number,
): PendingBatch & { results: Promise<KvResult[]> } {
  let batch!: PendingBatch;
  const results = new Promise<KvResult[]>((done, fail) => {
    batch = w.add(ids, now, { done, fail });
  });
  return Object.assign(batch, { results });
}

describe("PendingWrites", () => {
  it("a write whose leader is replaced is answered after the grace, not the whole timeout", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const ab = add(w, [1], 0);
    const a = watch(ab.results);
    w.handedTo(ab, 7);
    w.leaderIs(0, 500);
    w.expire(500 + GRACE - 1);
    await turn();
    assert.equal(a.outcome, undefined);
    w.expire(500 + GRACE);
    await turn();
    assert.match(a.outcome ?? "", /^timeout: .*node 7.*replaced before the write applied/);
    assert.equal(w.size, 0);
  });

  it("a write still handed to the current leader keeps its whole timeout", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const keptb = add(w, [1], 0);
    const kept = watch(keptb.results);
    w.handedTo(keptb, 3);
    const orphanb = add(w, [2], 0);
    const orphan = watch(orphanb.results);
    w.handedTo(orphanb, 7);
    w.leaderIs(3, 100);
    w.expire(100 + GRACE);
    await turn();
    assert.equal(kept.outcome, undefined);
    assert.match(orphan.outcome ?? "", /^timeout: .*node 7/);
    w.expire(TIMEOUT - 1);
    await turn();
    assert.equal(kept.outcome, undefined);
    w.expire(TIMEOUT);
    await turn();
    assert.match(kept.outcome ?? "", /^timeout: no result within 10000 ms/);
  });

  it("a write applied within the grace gets its result, and nothing later answers it again", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const ab = add(w, [1], 0);
    const a = watch(ab.results);
    w.handedTo(ab, 7);
    w.leaderIs(9, 100);
    w.settle(1, { kind: "ok" });
    w.expire(TIMEOUT * 2);
    await turn();
    assert.equal(a.outcome, 'ok [{"kind":"ok"}]');
  });

  it("a write not yet handed over is not an orphan: it was never sent to the old leader", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const a = watch(add(w, [1], 0).results);
    w.leaderIs(0, 100);
    w.expire(100 + GRACE);
    await turn();
    assert.equal(a.outcome, undefined);
  });

  it("a deadline earlier than the grace's end is kept", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const ab = add(w, [1], 0);
    const a = watch(ab.results);
    w.handedTo(ab, 7);
    w.leaderIs(0, TIMEOUT - 100);
    w.expire(TIMEOUT);
    await turn();
    assert.match(a.outcome ?? "", /^timeout: no result within/);
  });

  it("a batch is answered once every write of it applied, with the results in its order", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const batch = add(w, [5, 6, 7], 0);
    let answered = false;
    batch.results.then(() => {
      answered = true;
    });
    w.settle(7, { kind: "integer", value: 3n });
    w.settle(5, { kind: "not-set" });
    await turn();
    assert.equal(answered, false);
    assert.equal(w.size, 1);
    w.settle(6, { kind: "ok" });
    assert.deepEqual(await batch.results, [
      { kind: "not-set" },
      { kind: "ok" },
      { kind: "integer", value: 3n },
    ]);
    assert.equal(w.size, 0);
  });

  it("a batch whose time is up is answered once, and its writes' later results are dropped", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const a = watch(add(w, [1, 2], 0).results);
    const b = watch(add(w, [3], 5).results);
    w.settle(1, { kind: "ok" });
    w.expire(TIMEOUT);
    await turn();
    assert.match(a.outcome ?? "", /^timeout: no result within/);
    assert.equal(b.outcome, undefined);
    assert.equal(w.size, 1);
    w.settle(2, { kind: "ok" });
    w.settle(3, { kind: "ok" });
    await turn();
    assert.match(a.outcome ?? "", /^timeout: no result within/);
    assert.equal(b.outcome, 'ok [{"kind":"ok"}]');
  });

  it("rejectAll answers every waiting write with the error given", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const ab = add(w, [1], 0);
    const a = watch(ab.results);
    const bb = add(w, [2], 0);
    const b = watch(bb.results);
    w.handedTo(bb, 7);
    w.leaderIs(0, 1);
    w.rejectAll(new BackendError("unavailable", "the node is stopping"));
    await turn();
    assert.equal(a.outcome, "unavailable: the node is stopping");
    assert.equal(b.outcome, "unavailable: the node is stopping");
    assert.equal(w.size, 0);
  });

  it("callers are told after settle returns, all of one burst together, and a throwing one stops no other", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const told: string[] = [];
    w.add([1], 0, {
      done: () => {
        told.push("a");
        throw new Error("the caller's own bug");
      },
      fail: () => told.push("a failed"),
    });
    w.add([2], 0, { done: () => told.push("b"), fail: () => told.push("b failed") });
    w.settle(1, { kind: "ok" });
    w.settle(2, { kind: "ok" });
    assert.deepEqual(told, [], "inside settle: the apply that reports results is still running");
    await Promise.resolve();
    assert.deepEqual(told, ["a", "b"]);
    assert.equal(w.size, 0);
  });
});
