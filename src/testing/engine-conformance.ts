// The behaviour every Engine must share, as a node:test suite. An implementation's test file
// calls `engineConformance(name, open)`; `open(dir)` opens (or reopens) the engine kept in
// `dir`. The applied map is observed through snapshot(), the one way the contract exposes it.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { encodeProposal } from "../proposal/proposal.js";
import { SeededRng } from "../raft/rng.js";
import { type Entry, EntryType, emptyHardState } from "../raft/types.js";
import type { Engine } from "../storage/engine/engine.js";
import { decodeKvSnapshot } from "../storage/engine/kv-snapshot.js";

export interface EngineConformanceOptions {
  /** The engine's state survives close() and open(dir) again (false for in-memory ones). */
  reopenable?: boolean;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A normal entry carrying the proposal key=value. */
export function putEntry(index: number, term: number, key: string, value: string): Entry {
  const data = encodeProposal({ id: index, key: enc.encode(key), value: enc.encode(value) });
  return { index, term, type: EntryType.Normal, data };
}

/** The applied map of `engine` as a plain object, read through its snapshot. */
export async function appliedMap(engine: Engine): Promise<Record<string, string>> {
  const s = decodeKvSnapshot((await engine.snapshot()).data);
  const out: Record<string, string> = {};
  for (const [k, v] of s.pairs) out[dec.decode(k)] = dec.decode(v);
  return out;
}

export function engineConformance(
  name: string,
  open: (dir: string) => Promise<Engine>,
  opts: EngineConformanceOptions = {},
): void {
  async function withEngine(
    body: (engine: Engine, reopen: () => Promise<Engine>) => Promise<void>,
  ): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-engine-"));
    let engine = await open(dir);
    try {
      await body(engine, async () => {
        await engine.close();
        engine = await open(dir);
        return engine;
      });
    } finally {
      await engine.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  describe(`Engine conformance: ${name}`, () => {
    test("a new engine is empty", () =>
      withEngine(async (engine) => {
        assert.deepEqual(engine.hardState(), emptyHardState());
        assert.equal(engine.appliedIndex(), 0);
        assert.deepEqual(engine.confState(), { voters: [], learners: [] });
        assert.deepEqual(await appliedMap(engine), {});
      }));

    test("applied proposals set keys; later ones overwrite; other entries set none", () =>
      withEngine(async (engine) => {
        await engine.applyEntries([
          putEntry(1, 1, "a", "1"),
          putEntry(2, 1, "b", "2"),
          { index: 3, term: 1, type: EntryType.Normal, data: new Uint8Array(0) },
        ]);
        await engine.applyEntries([
          putEntry(4, 2, "a", "3"),
          { index: 5, term: 2, type: EntryType.ConfChange, data: Uint8Array.of(1, 2, 3) },
          putEntry(6, 2, "", "empty key"),
        ]);
        assert.equal(engine.appliedIndex(), 6);
        assert.deepEqual(await appliedMap(engine), { a: "3", b: "2", "": "empty key" });
        const snap = await engine.snapshot();
        assert.equal(snap.metadata.index, 6);
        assert.equal(snap.metadata.term, 2);
      }));

    test("a key of 128 bytes or more (a two-byte length in the proposal) is applied as given", () =>
      withEngine(async (engine) => {
        const long = "k".repeat(127);
        await engine.applyEntries([putEntry(1, 1, `${long}a`, "1"), putEntry(2, 1, "b", "2")]);
        assert.deepEqual(await appliedMap(engine), { [`${long}a`]: "1", b: "2" });
      }));

    test("entries already applied are skipped; a gap is refused", () =>
      withEngine(async (engine) => {
        await engine.applyEntries([putEntry(1, 1, "k", "first"), putEntry(2, 1, "j", "x")]);
        await engine.applyEntries([putEntry(2, 1, "j", "replayed"), putEntry(3, 1, "k", "3")]);
        assert.deepEqual(await appliedMap(engine), { k: "3", j: "x" });
        await assert.rejects(engine.applyEntries([putEntry(5, 1, "z", "z")]), /where 4 was due/);
        assert.equal(engine.appliedIndex(), 3);
      }));

    test("a malformed proposal rejects the batch and changes nothing", () =>
      withEngine(async (engine) => {
        const bad: Entry = { index: 2, term: 1, type: EntryType.Normal, data: Uint8Array.of(9) };
        await assert.rejects(
          engine.applyEntries([putEntry(1, 1, "a", "1"), bad]),
          /cannot apply entry 2.*malformed proposal/,
        );
        assert.equal(engine.appliedIndex(), 0);
        assert.deepEqual(await appliedMap(engine), {});
      }));

    test("hard state and conf state round trip", () =>
      withEngine(async (engine, reopen) => {
        await engine.setHardState({ term: 7, vote: 3, commit: 12 }, { sync: true });
        await engine.setConfState({ voters: [1, 2, 3], learners: [4] });
        assert.deepEqual(engine.hardState(), { term: 7, vote: 3, commit: 12 });
        assert.deepEqual(engine.confState(), { voters: [1, 2, 3], learners: [4] });
        if (opts.reopenable) {
          const again = await reopen();
          assert.deepEqual(again.hardState(), { term: 7, vote: 3, commit: 12 });
          assert.deepEqual(again.confState(), { voters: [1, 2, 3], learners: [4] });
        }
      }));

    test("snapshot then restore into another engine reproduces the state, replacing its map", () =>
      withEngine(async (source) => {
        const rng = new SeededRng(11);
        const model: Record<string, string> = {};
        const entries: Entry[] = [];
        for (let i = 1; i <= 300; i++) {
          const key = `key-${rng.intn(60)}`;
          const value = `v${i}-${"x".repeat(rng.intn(40))}`;
          model[key] = value;
          entries.push(putEntry(i, 1 + (i >> 7), key, value));
        }
        for (let i = 0; i < entries.length; i += 50)
          await source.applyEntries(entries.slice(i, i + 50));
        await source.setConfState({ voters: [1, 2, 3], learners: [] });
        const snap = await source.snapshot();
        assert.deepEqual(await appliedMap(source), model, "seed 11: source map");

        await withEngine(async (target) => {
          await target.applyEntries([putEntry(1, 1, "stale", "gone after restore")]);
          await target.restore(snap);
          assert.equal(target.appliedIndex(), 300);
          assert.deepEqual(target.confState(), { voters: [1, 2, 3], learners: [] });
          assert.deepEqual(await appliedMap(target), model, "seed 11: restored map");
          await target.applyEntries([putEntry(301, 3, "after", "restore")]);
          assert.equal((await appliedMap(target)).after, "restore");
        });
      }));

    test("a snapshot whose data and metadata disagree is refused", () =>
      withEngine(async (engine) => {
        await engine.applyEntries([putEntry(1, 1, "a", "1")]);
        const snap = await engine.snapshot();
        await assert.rejects(
          engine.restore({ ...snap, metadata: { ...snap.metadata, index: 9 } }),
          /damaged/,
        );
        await assert.rejects(
          engine.restore({ ...snap, data: snap.data.subarray(0, snap.data.length - 1) }),
          /malformed snapshot/,
        );
      }));

    test("clear() wipes map, applied index, hard state and conf state", () =>
      withEngine(async (engine, reopen) => {
        await engine.applyEntries([putEntry(1, 1, "a", "1")]);
        await engine.setHardState({ term: 2, vote: 1, commit: 1 }, { sync: true });
        await engine.setConfState({ voters: [1], learners: [] });
        await engine.clear();
        const check = async (e: Engine, context: string) => {
          assert.equal(e.appliedIndex(), 0, context);
          assert.deepEqual(e.hardState(), emptyHardState(), context);
          assert.deepEqual(e.confState(), { voters: [], learners: [] }, context);
          assert.deepEqual(await appliedMap(e), {}, context);
        };
        await check(engine, "after clear");
        if (opts.reopenable) await check(await reopen(), "after clear and reopen");
      }));

    if (opts.reopenable) {
      test("applied map and applied index survive a reopen", () =>
        withEngine(async (engine, reopen) => {
          await engine.applyEntries([putEntry(1, 1, "a", "1"), putEntry(2, 1, "b", "2")]);
          await engine.applyEntries([putEntry(3, 2, "a", "3")]);
          const again = await reopen();
          assert.equal(again.appliedIndex(), 3);
          assert.deepEqual(await appliedMap(again), { a: "3", b: "2" });
          assert.equal((await again.snapshot()).metadata.term, 2);
        }));
    }

    test("calls after close() fail", () =>
      withEngine(async (engine) => {
        await engine.close();
        await assert.rejects(engine.applyEntries([putEntry(1, 1, "a", "1")]), /closed/);
        await assert.rejects(engine.setHardState({ term: 1, vote: 0, commit: 0 }, { sync: true }));
        await engine.close();
      }));
  });
}
