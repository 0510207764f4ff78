import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Entry, EntryType } from "../raft/types.js";
import { realScheduler } from "./clock.js";
import { ProposalBuffer } from "./proposal-buffer.js";
import { type ProposalError, ProposalTracker } from "./proposal-tracker.js";

function entries(from: number, to: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) {
    out.push({ index: i, term, type: EntryType.Normal, data: new Uint8Array(0) });
  }
  return out;
}

function settleLog(tracker: ProposalTracker, index: number, term: number, log: string[]): void {
  tracker.track(
    index,
    term,
    () => log.push(`ok ${index}`),
    (e) => log.push(`fail ${index} ${(e as ProposalError).reason}`),
  );
}

describe("ProposalTracker", () => {
  test("acknowledges in index order up to the last committed entry, growing past its capacity", () => {
    const tracker = new ProposalTracker(16);
    const log: string[] = [];
    for (let i = 5; i < 105; i++) settleLog(tracker, i, 2, log);
    assert.equal(tracker.size, 100);
    tracker.ack(entries(1, 50, 2));
    assert.equal(tracker.size, 54);
    assert.deepEqual(
      log,
      Array.from({ length: 46 }, (_, k) => `ok ${k + 5}`),
    );
    tracker.ack(entries(51, 200, 2));
    assert.equal(tracker.size, 0);
    assert.equal(log.length, 100);
    assert.equal(log[99], "ok 104");
  });

  test("wraps around the ring many times without losing order", () => {
    const tracker = new ProposalTracker(16);
    const log: string[] = [];
    let next = 1;
    let acked = 0;
    for (let round = 0; round < 50; round++) {
      for (let k = 0; k < 11; k++) settleLog(tracker, next++, 1, log);
      // Commit all but the last four: the ring keeps a varying tail across rounds.
      tracker.ack(entries(acked + 1, next - 5, 1));
      acked = next - 5;
    }
    tracker.ack(entries(acked + 1, next - 1, 1));
    const expected = Array.from({ length: next - 1 }, (_, k) => `ok ${k + 1}`);
    assert.deepEqual(log, expected);
  });

  test("rejects a proposal below the committed batch: its outcome is unknown", () => {
    const tracker = new ProposalTracker();
    const log: string[] = [];
    settleLog(tracker, 3, 1, log);
    settleLog(tracker, 4, 1, log);
    tracker.ack(entries(4, 4, 1));
    assert.deepEqual(log, ["fail 3 outcome unknown", "ok 4"]);
  });

  test("rejects a proposal whose index was committed with another term", () => {
    const tracker = new ProposalTracker();
    const log: string[] = [];
    settleLog(tracker, 7, 3, log);
    settleLog(tracker, 8, 3, log);
    tracker.ack([...entries(7, 7, 3), ...entries(8, 8, 4)]);
    assert.deepEqual(log, ["ok 7", "fail 8 overwritten"]);
  });

  test("rejectAll rejects everything with the reason", () => {
    const tracker = new ProposalTracker();
    const log: string[] = [];
    for (let i = 1; i <= 3; i++) settleLog(tracker, i, 1, log);
    tracker.rejectAll("leadership lost");
    assert.equal(tracker.size, 0);
    assert.deepEqual(log, [
      "fail 1 leadership lost",
      "fail 2 leadership lost",
      "fail 3 leadership lost",
    ]);
  });

  test("reports the latency of acknowledged proposals tracked with a start time", () => {
    const seen: number[] = [];
    const tracker = new ProposalTracker(16, (start) => seen.push(start));
    tracker.track(
      1,
      1,
      () => {},
      () => {},
      123,
    );
    tracker.track(
      2,
      1,
      () => {},
      () => {},
      0,
    );
    tracker.ack(entries(1, 2, 1));
    assert.deepEqual(seen, [123]);
  });
});

describe("ProposalBuffer", () => {
  test("holds proposers back when full and lets them in after take()", async () => {
    let wakes = 0;
    const buf = new ProposalBuffer(2, () => wakes++, undefined);
    const p1 = buf.propose(new Uint8Array([1]));
    buf.propose(new Uint8Array([2]));
    let thirdIn = false;
    buf.propose(new Uint8Array([3])).catch(() => {});
    void Promise.resolve().then(() => {
      thirdIn = buf.length === 3;
    });
    await new Promise((r) => setImmediate(r));
    assert.equal(buf.length, 2, "a full buffer must not grow");
    assert.equal(thirdIn, false);
    const first = buf.take(10);
    assert.deepEqual(
      first.datas.map((d) => d[0]),
      [1, 2],
    );
    await new Promise((r) => setImmediate(r));
    assert.equal(buf.length, 1, "the waiting proposal enters once there is room");
    assert.equal(wakes, 2, "the loop is woken when the buffer becomes non-empty");
    first.resolves[0]!();
    await p1;
    buf.rejectAll("stopped", true);
    await assert.rejects(buf.propose(new Uint8Array([4])), /stopped/);
  });

  test("take(max) takes the oldest first", () => {
    const buf = new ProposalBuffer(10, () => {}, realScheduler);
    for (let i = 0; i < 5; i++) buf.propose(new Uint8Array([i])).catch(() => {});
    const a = buf.take(3);
    assert.deepEqual(
      a.datas.map((d) => d[0]),
      [0, 1, 2],
    );
    assert.equal(a.startMs.length, 3);
    const b = buf.take(3);
    assert.deepEqual(
      b.datas.map((d) => d[0]),
      [3, 4],
    );
  });
});
