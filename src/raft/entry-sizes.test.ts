// EntrySizes against the direct computation it replaces (util's entriesSize and limitEnd),
// over random appends, replacements of a suffix, and forgetting of a prefix.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EntrySizes, SIZES_KEPT_BELOW_APPLIED } from "./entry-sizes.js";
import { SeededRng } from "./rng.js";
import { type Entry, EntryType } from "./types.js";
import { entriesSize, limitEnd } from "./util.js";

function entry(index: number, bytes: number): Entry {
  return { term: 1, index, type: EntryType.Normal, data: new Uint8Array(bytes) };
}

function run(first: number, sizes: readonly number[]): Entry[] {
  return sizes.map((b, i) => entry(first + i, b));
}

describe("EntrySizes", () => {
  test("sizes and limits agree with measuring the entries, through appends and overwrites", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new SeededRng(seed);
      const first = 1 + rng.intn(1000);
      const sizes = new EntrySizes(first);
      let log: Entry[] = [];
      for (let step = 0; step < 60; step++) {
        // Append at the end, or replace a suffix as a follower does on a conflict.
        const from = first + (log.length === 0 ? 0 : rng.intn(log.length + 1));
        const ents = run(
          from,
          Array.from({ length: 1 + rng.intn(20) }, () => rng.intn(300)),
        );
        log = log.slice(0, from - first).concat(ents);
        sizes.append(ents);
        const lo = first + rng.intn(log.length);
        const hi = lo + rng.intn(first + log.length - lo + 1);
        const at = `seed ${seed} step ${step} [${lo}, ${hi})`;
        assert.ok(sizes.covers(lo, hi), at);
        const want = log.slice(lo - first, hi - first);
        assert.equal(sizes.bytes(lo, hi), entriesSize(want), at);
        const max = rng.intn(2000);
        if (hi > lo) {
          const end = limitEnd(log, lo - first, hi - first, max) + first;
          assert.equal(sizes.limitEnd(lo, hi, max), end, `${at} max ${max}`);
        }
      }
      assert.ok(!sizes.covers(first - 1, first + 1), `seed ${seed}: covers before the first`);
      assert.ok(!sizes.covers(first, first + log.length + 1), `seed ${seed}: covers past the end`);
    }
  });

  test("a limit below the first entry still yields one entry", () => {
    const sizes = new EntrySizes(5);
    sizes.append(run(5, [100, 1, 1]));
    assert.equal(sizes.limitEnd(5, 8, 10), 6);
    assert.equal(sizes.limitEnd(6, 8, 10), 8);
  });

  test("forgetting a prefix keeps the sizes of the rest", () => {
    const n = 3 * SIZES_KEPT_BELOW_APPLIED;
    const sizes = new EntrySizes(1);
    const all = run(
      1,
      Array.from({ length: n }, (_, i) => i % 7),
    );
    sizes.append(all);
    sizes.forgetBelow(SIZES_KEPT_BELOW_APPLIED - 1);
    assert.ok(sizes.covers(1, 2), "dropped fewer entries than a chunk");
    sizes.forgetBelow(2 * SIZES_KEPT_BELOW_APPLIED);
    assert.ok(!sizes.covers(2 * SIZES_KEPT_BELOW_APPLIED - 1, n));
    assert.ok(sizes.covers(2 * SIZES_KEPT_BELOW_APPLIED, n + 1));
    assert.equal(
      sizes.bytes(2 * SIZES_KEPT_BELOW_APPLIED, n + 1),
      entriesSize(all.slice(2 * SIZES_KEPT_BELOW_APPLIED - 1)),
    );
    // Appending below the tracked range starts over there.
    sizes.append(run(10, [3, 4]));
    assert.ok(sizes.covers(10, 12));
    assert.equal(sizes.bytes(10, 12), 7);
    assert.ok(!sizes.covers(12, 13));
  });
});
