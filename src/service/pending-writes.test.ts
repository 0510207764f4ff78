import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BackendError } from "./contract.js";
import { PendingWrites } from "./pending-writes.js";

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

describe("PendingWrites", () => {
  it("a write whose leader is replaced is answered after the grace, not the whole timeout", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const ab = w.add([1], 0);
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
    const keptb = w.add([1], 0);
    const kept = watch(keptb.results);
    w.handedTo(keptb, 3);
    const orphanb = w.add([2], 0);
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
    const ab = w.add([1], 0);
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
    const a = watch(w.add([1], 0).results);
    w.leaderIs(0, 100);
    w.expire(100 + GRACE);
    await turn();
    assert.equal(a.outcome, undefined);
  });

  it("a deadline earlier than the grace's end is kept", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const ab = w.add([1], 0);
    const a = watch(ab.results);
    w.handedTo(ab, 7);
    w.leaderIs(0, TIMEOUT - 100);
    w.expire(TIMEOUT);
    await turn();
    assert.match(a.outcome ?? "", /^timeout: no result within/);
  });

  it("a batch is answered once every write of it applied, with the results in its order", async () => {
    const w = new PendingWrites(TIMEOUT, GRACE);
    const batch = w.add([5, 6, 7], 0);
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
    const a = watch(w.add([1, 2], 0).results);
    const b = watch(w.add([3], 5).results);
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
    const ab = w.add([1], 0);
    const a = watch(ab.results);
    const bb = w.add([2], 0);
    const b = watch(bb.results);
    w.handedTo(bb, 7);
    w.leaderIs(0, 1);
    w.rejectAll(new BackendError("unavailable", "the node is stopping"));
    await turn();
    assert.equal(a.outcome, "unavailable: the node is stopping");
    assert.equal(b.outcome, "unavailable: the node is stopping");
    assert.equal(w.size, 0);
  });
});
