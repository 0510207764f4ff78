// The behaviour every Wal must share, as a node:test suite. An implementation's test file
// calls `walConformance(name, open)`; `open(dir)` opens (or reopens) the log kept in `dir`.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { isRaftError } from "../raft/errors.js";
import { SeededRng } from "../raft/rng.js";
import { type Entry, EntryType } from "../raft/types.js";
import type { Wal } from "../storage/wal/wal.js";

export interface WalConformanceOptions {
  /** The log survives close() and open(dir) again (false for in-memory logs). */
  reopenable?: boolean;
}

/** Entry `index` of `term` with `size` bytes whose content depends on all three. */
export function makeEntry(
  index: number,
  term: number,
  size: number,
  type: EntryType = EntryType.Normal,
): Entry {
  const data = new Uint8Array(size);
  for (let k = 0; k < size; k++) data[k] = (index * 31 + term * 7 + k) & 0xff;
  return { index, term, type, data };
}

function makeEntries(first: number, count: number, term: number, size = 16): Entry[] {
  return Array.from({ length: count }, (_, k) => makeEntry(first + k, term, size));
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function assertEntries(
  actual: readonly Entry[],
  expected: readonly Entry[],
  context: string,
): void {
  assert.equal(actual.length, expected.length, `${context}: entry count`);
  for (let k = 0; k < expected.length; k++) {
    const a = actual[k]!;
    const e = expected[k]!;
    const what = `${context}: entry ${e.index}`;
    assert.equal(a.index, e.index, `${what}: index`);
    assert.equal(a.term, e.term, `${what}: term`);
    assert.equal(a.type, e.type, `${what}: type`);
    assert.ok(
      same(a.data, e.data),
      `${what}: data differs (${a.data.byteLength} vs ${e.data.byteLength} bytes)`,
    );
  }
}

const isCompacted = (e: unknown) => isRaftError(e, "compacted");
const isUnavailable = (e: unknown) => isRaftError(e, "unavailable");

/** The state a log must show: entries [first, first + log.length), term(first - 1) = prevTerm. */
class ModelLog {
  first = 1;
  prevTerm = 0;
  log: Entry[] = [];

  get last(): number {
    return this.first + this.log.length - 1;
  }

  term(i: number): number {
    return i === this.first - 1 ? this.prevTerm : this.log[i - this.first]!.term;
  }

  append(entries: readonly Entry[]): void {
    this.log.length = entries[0]!.index - this.first;
    this.log.push(...entries);
  }

  compact(upTo: number): void {
    if (upTo < this.first) return;
    this.prevTerm = this.term(upTo);
    this.log = this.log.slice(upTo - this.first + 1);
    this.first = upTo + 1;
  }

  reset(index: number, term: number): void {
    this.first = index + 1;
    this.prevTerm = term;
    this.log = [];
  }
}

/** Asserts that `wal` holds exactly what `model` does. */
function assertMatches(wal: Wal, model: ModelLog, context: string): void {
  assert.equal(wal.firstIndex(), model.first, `${context}: firstIndex`);
  assert.equal(wal.lastIndex(), model.last, `${context}: lastIndex`);
  assert.equal(wal.term(model.first - 1), model.prevTerm, `${context}: term(firstIndex - 1)`);
  assertEntries(wal.entries(model.first, model.last + 1), model.log, context);
  for (const e of model.log)
    assert.equal(wal.term(e.index), e.term, `${context}: term(${e.index})`);
}

/** Expected answer of entries(lo, hi, maxBytes): the longest prefix within maxBytes, at least one. */
function limitBySize(entries: readonly Entry[], maxBytes: number): Entry[] {
  let bytes = 0;
  let n = 0;
  while (n < entries.length) {
    bytes += entries[n]!.data.byteLength;
    if (n > 0 && bytes > maxBytes) break;
    n++;
  }
  return entries.slice(0, n);
}

export function walConformance(
  name: string,
  open: (dir: string) => Promise<Wal>,
  opts: WalConformanceOptions = {},
): void {
  const reopenable = opts.reopenable ?? false;

  /** Runs `body` with a log in a fresh temporary directory, then removes both. */
  async function withWal(
    body: (wal: Wal, dir: string, reopen: () => Promise<Wal>) => Promise<void>,
  ) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-wal-"));
    let wal: Wal | undefined;
    try {
      wal = await open(dir);
      await body(wal, dir, async () => {
        await wal?.close();
        wal = undefined;
        wal = await open(dir);
        return wal;
      });
    } finally {
      await wal?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  describe(`Wal conformance: ${name}`, () => {
    test("a new log is empty", () =>
      withWal(async (wal) => {
        assert.equal(wal.firstIndex(), 1);
        assert.equal(wal.lastIndex(), 0);
        assert.equal(wal.term(0), 0);
        assert.deepEqual(wal.entries(1, 1), []);
        assert.throws(() => wal.term(1), isUnavailable);
        assert.throws(() => wal.entries(1, 2), isUnavailable);
        assert.equal(typeof wal.syncMode, "string");
        assert.ok(wal.syncMode.length > 0, "syncMode says how appends are made durable");
      }));

    test("appended entries read back with index, term, type and data", () =>
      withWal(async (wal) => {
        const batch1 = [
          makeEntry(1, 1, 0),
          makeEntry(2, 1, 100),
          makeEntry(3, 1, 5, EntryType.ConfChange),
        ];
        const batch2 = [makeEntry(4, 2, 3000), makeEntry(5, 2, 1)];
        await wal.append(batch1, { sync: true });
        await wal.append(batch2, { sync: false });
        await wal.append([], { sync: true });
        assert.equal(wal.lastIndex(), 5);
        assertEntries(wal.entries(1, 6), [...batch1, ...batch2], "whole log");
        assertEntries(wal.entries(2, 4), batch1.slice(1), "middle range");
        assert.deepEqual(
          [1, 2, 3, 4, 5].map((i) => wal.term(i)),
          [1, 1, 1, 2, 2],
        );
        assert.throws(() => wal.entries(5, 7), isUnavailable);
        assert.throws(() => wal.entries(0, 2), isCompacted);
      }));

    test("entries() stops at maxBytes but always returns at least one entry", () =>
      withWal(async (wal) => {
        const sizes = [10, 20, 30, 40, 0, 50];
        const all = sizes.map((size, k) => makeEntry(k + 1, 1, size));
        await wal.append(all, { sync: true });
        for (const maxBytes of [0, 5, 10, 29, 30, 31, 60, 100, 149, 150, 1000]) {
          for (let lo = 1; lo <= all.length; lo++) {
            const got = wal.entries(lo, all.length + 1, maxBytes);
            assertEntries(
              got,
              limitBySize(all.slice(lo - 1), maxBytes),
              `entries(${lo}, 7, ${maxBytes})`,
            );
          }
        }
        assertEntries(
          wal.entries(2, 4, 1000),
          all.slice(1, 3),
          "hi bounds the range before maxBytes",
        );
      }));

    test("an append at or below lastIndex replaces the suffix", () =>
      withWal(async (wal) => {
        const model = new ModelLog();
        const steps: Entry[][] = [
          makeEntries(1, 10, 1),
          makeEntries(6, 3, 2), // replaces 6..10 with a shorter suffix
          makeEntries(8, 1, 3), // replaces only the last entry
          makeEntries(9, 4, 3), // plain append after a replacement
          makeEntries(1, 2, 4), // replaces the whole log
        ];
        for (const [k, batch] of steps.entries()) {
          await wal.append(batch, { sync: true });
          model.append(batch);
          assertMatches(wal, model, `after step ${k}`);
        }
      }));

    test("an append that would leave a gap, or skips an index, is rejected", () =>
      withWal(async (wal) => {
        await wal.append(makeEntries(1, 5, 1), { sync: true });
        await assert.rejects(wal.append(makeEntries(7, 2, 1), { sync: true }));
        const skipping = [makeEntry(6, 1, 4), makeEntry(8, 1, 4)];
        await assert.rejects(wal.append(skipping, { sync: true }));
        assert.equal(wal.lastIndex(), 5, "a rejected append changes nothing");
        await wal.append(makeEntries(6, 1, 1), { sync: true });
        assert.equal(wal.lastIndex(), 6, "the log stays usable after a rejected append");
      }));

    test("reads across many batches and segment boundaries", () =>
      withWal(async (wal, _dir, reopen) => {
        const rng = new SeededRng(7);
        const model = new ModelLog();
        let next = 1;
        while (next <= 400) {
          const n = 1 + rng.intn(12);
          const batch = Array.from({ length: n }, (_, k) =>
            makeEntry(next + k, 1 + (next >> 7), rng.intn(700)),
          );
          await wal.append(batch, { sync: rng.intn(3) > 0 });
          model.append(batch);
          next += n;
        }
        const check = (w: Wal, context: string) => {
          assertMatches(w, model, context);
          for (let k = 0; k < 200; k++) {
            const lo = 1 + rng.intn(model.last);
            const hi = lo + rng.intn(model.last - lo + 2);
            const maxBytes = rng.intn(6000);
            assertEntries(
              w.entries(lo, hi, maxBytes),
              limitBySize(model.log.slice(lo - 1, hi - 1), maxBytes),
              `${context}: entries(${lo}, ${hi}, ${maxBytes})`,
            );
          }
        };
        check(wal, "before reopen");
        if (reopenable) check(await reopen(), "after reopen");
      }));

    test("compaction moves firstIndex, keeps term(upTo) and rejects reads below", () =>
      withWal(async (wal) => {
        await wal.append(makeEntries(1, 20, 1), { sync: true });
        await wal.append(makeEntries(21, 10, 2), { sync: true });
        await wal.compact(22);
        assert.equal(wal.firstIndex(), 23);
        assert.equal(wal.lastIndex(), 30);
        assert.equal(wal.term(22), 2);
        assert.throws(() => wal.term(21), isCompacted);
        assert.throws(() => wal.entries(22, 24), isCompacted);
        assertEntries(wal.entries(23, 31), makeEntries(23, 8, 2), "after compaction");
        await wal.compact(10); // already compacted: no change
        assert.equal(wal.firstIndex(), 23);
        await assert.rejects(wal.compact(31), isUnavailable);
        await assert.rejects(wal.append(makeEntries(22, 2, 3), { sync: true }), isCompacted);
        await wal.compact(30); // everything: an empty log that continues after 30
        assert.equal(wal.firstIndex(), 31);
        assert.equal(wal.lastIndex(), 30);
        assert.equal(wal.term(30), 2);
        await wal.append(makeEntries(31, 2, 3), { sync: true });
        assertEntries(wal.entries(31, 33), makeEntries(31, 2, 3), "appended after full compaction");
      }));

    test("reset() empties the log; reset({index, term}) restarts it after that point", () =>
      withWal(async (wal) => {
        await wal.append(makeEntries(1, 10, 1), { sync: true });
        await wal.reset();
        assert.equal(wal.firstIndex(), 1);
        assert.equal(wal.lastIndex(), 0);
        assert.equal(wal.term(0), 0);
        await wal.append(makeEntries(1, 3, 5), { sync: true });
        assertEntries(wal.entries(1, 4), makeEntries(1, 3, 5), "after reset()");

        await wal.reset({ index: 100, term: 7 });
        assert.equal(wal.firstIndex(), 101);
        assert.equal(wal.lastIndex(), 100);
        assert.equal(wal.term(100), 7);
        assert.throws(() => wal.term(99), isCompacted);
        await assert.rejects(wal.append(makeEntries(102, 1, 7), { sync: true }));
        await wal.append(makeEntries(101, 2, 8), { sync: true });
        assertEntries(wal.entries(101, 103), makeEntries(101, 2, 8), "after reset(after)");
      }));

    test("calls after close() fail", () =>
      withWal(async (wal) => {
        await wal.close();
        await assert.rejects(wal.append(makeEntries(1, 1, 1), { sync: true }));
        await wal.close(); // closing twice is harmless
      }));

    if (reopenable) {
      test("a reopened log holds exactly what was synced, compactions and resets included", () =>
        withWal(async (wal, _dir, reopen) => {
          const model = new ModelLog();
          const batches = [
            makeEntries(1, 50, 1, 300),
            makeEntries(51, 50, 1, 300),
            makeEntries(40, 5, 2, 50),
          ];
          for (const b of batches) {
            await wal.append(b, { sync: true });
            model.append(b);
          }
          await wal.compact(20);
          model.compact(20);
          let w = await reopen();
          assertMatches(w, model, "after compaction and reopen");
          await w.append(makeEntries(45, 3, 3, 10), { sync: true });
          model.append(makeEntries(45, 3, 3, 10));
          await w.reset({ index: 60, term: 4 });
          model.reset(60, 4);
          await w.append(makeEntries(61, 2, 4, 10), { sync: true });
          model.append(makeEntries(61, 2, 4, 10));
          w = await reopen();
          assertMatches(w, model, "after reset and reopen");
          await w.reset();
          model.reset(0, 0);
          w = await reopen();
          assertMatches(w, model, "after reset() and reopen");
        }));
    }

    test("random operation sequences match a simple model", async () => {
      // Three fixed seeds and one new per run; WAL_SEED=<seed> replays a reported one.
      const seeds = process.env.WAL_SEED
        ? [Number(process.env.WAL_SEED)]
        : [1, 2, 3, Date.now() % 1_000_000];
      for (const seed of seeds) {
        await withWal(async (first, _dir, reopen) => {
          let wal = first;
          const rng = new SeededRng(seed);
          const model = new ModelLog();
          let term = 1;
          for (let step = 0; step < 150; step++) {
            const context = `seed ${seed} (WAL_SEED=${seed} reproduces), step ${step}`;
            const op = rng.intn(100);
            if (op < 60) {
              // Append, sometimes replacing a suffix.
              const replace = model.log.length > 0 && rng.intn(4) === 0;
              const from = replace ? model.first + rng.intn(model.log.length) : model.last + 1;
              if (replace) term++;
              const batch = Array.from({ length: 1 + rng.intn(20) }, (_, k) =>
                makeEntry(
                  from + k,
                  term,
                  rng.intn(600),
                  rng.intn(10) === 0 ? EntryType.ConfChange : EntryType.Normal,
                ),
              );
              await wal.append(batch, { sync: rng.intn(4) > 0 });
              model.append(batch);
            } else if (op < 75 && model.log.length > 0) {
              const upTo = model.first - 1 + rng.intn(model.log.length + 1);
              await wal.compact(upTo);
              model.compact(upTo);
            } else if (op < 78) {
              if (rng.intn(2) === 0) {
                await wal.reset();
                model.reset(0, 0);
              } else {
                const index = model.last + rng.intn(50);
                term++;
                await wal.reset({ index, term });
                model.reset(index, term);
              }
            } else if (op < 85 && reopenable) {
              await wal.append(makeEntries(model.last + 1, 1, term), { sync: true });
              model.append(makeEntries(model.last + 1, 1, term));
              wal = await reopen();
            } else if (model.log.length > 0) {
              const lo = model.first + rng.intn(model.log.length);
              const hi = lo + 1 + rng.intn(model.last - lo + 1);
              const maxBytes = rng.intn(3000);
              assertEntries(
                wal.entries(lo, hi, maxBytes),
                limitBySize(model.log.slice(lo - model.first, hi - model.first), maxBytes),
                `${context}: entries(${lo}, ${hi}, ${maxBytes})`,
              );
            }
            assert.equal(wal.lastIndex(), model.last, `${context}: lastIndex`);
            assert.equal(wal.firstIndex(), model.first, `${context}: firstIndex`);
            assert.equal(
              wal.term(model.first - 1),
              model.prevTerm,
              `${context}: term(firstIndex - 1)`,
            );
          }
          assertMatches(wal, model, `seed ${seed}, final state`);
        });
      }
    });
  });
}
