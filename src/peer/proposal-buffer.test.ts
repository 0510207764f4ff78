import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProposalBuffer, rejectTaken } from "./proposal-buffer.js";
import { ProposalError } from "./proposal-tracker.js";

const data = (n: number) => new Uint8Array([n]);

describe("ProposalBuffer.proposeBatch", () => {
  test("settles once, after its last proposal is taken, with the positions refused", () => {
    let woken = 0;
    const buffer = new ProposalBuffer(100, () => woken++, undefined);
    const calls: { refused: readonly number[]; err: Error | undefined }[] = [];
    buffer.proposeBatch([data(0), data(1), data(2), data(3)], (refused, err) =>
      calls.push({ refused, err }),
    );
    assert.equal(woken, 1);
    assert.equal(buffer.length, 4);
    // Taken over three turns: handed over, refused, handed over.
    const first = buffer.take(1);
    for (const r of first.resolves) r();
    const second = buffer.take(2);
    rejectTaken(second, new ProposalError("no leader"));
    assert.equal(calls.length, 0, "settled before its last proposal was taken");
    const third = buffer.take(10);
    for (const r of third.resolves) r();
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.refused, [1, 2]);
    assert.equal((calls[0]!.err as ProposalError).reason, "no leader");
  });

  test("a batch handed over whole settles with nothing refused; an empty one at once", () => {
    const buffer = new ProposalBuffer(100, () => {}, undefined);
    const seen: ReadonlyArray<number>[] = [];
    buffer.proposeBatch([], (refused) => seen.push(refused));
    assert.deepEqual([...seen], [[]]);
    buffer.proposeBatch([data(0), data(1)], (refused) => seen.push(refused));
    buffer.proposeBatch([data(2)], (refused) => seen.push(refused));
    const taken = buffer.take(10);
    assert.deepEqual(
      taken.datas.map((d) => d[0]),
      [0, 1, 2],
    );
    for (const r of taken.resolves) r();
    assert.deepEqual([...seen], [[], [], []]);
  });

  test("a closed buffer refuses every position; a full one lets the batch in once there is room", () => {
    const buffer = new ProposalBuffer(2, () => {}, undefined);
    const seen: ReadonlyArray<number>[] = [];
    buffer.proposeBatch([data(0), data(1)], (refused) => seen.push(refused));
    buffer.proposeBatch([data(2), data(3)], (refused) => seen.push(refused));
    assert.equal(buffer.length, 2, "a full buffer took a batch in");
    const first = buffer.take(10);
    assert.equal(buffer.length, 2, "the waiting batch did not come in when room opened");
    for (const r of first.resolves) r();
    buffer.rejectAll("stopped", true);
    assert.deepEqual([...seen], [[], [0, 1]]);
    buffer.proposeBatch([data(4), data(5), data(6)], (refused) => seen.push(refused));
    assert.deepEqual(seen.at(-1), [0, 1, 2]);
  });
});
