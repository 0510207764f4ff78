import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { isRaftError } from "../raft/errors.js";
import { appliedMap, putEntry } from "../testing/engine-conformance.js";
import { MemEngine } from "./engine/mem-engine.js";
import { openLmdbStorage } from "./lmdb-storage.js";
import { StorageLogView } from "./log-view.js";
import { reconcile, type Storage, split } from "./storage.js";
import { MemWal } from "./wal/mem-wal.js";

const kinds: [string, (dir: string) => Promise<Storage>][] = [
  ["split(mem, mem)", async () => split(new MemWal(), new MemEngine())],
  ["lmdb", (dir) => openLmdbStorage({ dir })],
];

async function withStorage(
  open: (dir: string) => Promise<Storage>,
  body: (s: Storage) => Promise<void>,
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-storage-"));
  const s = await open(dir);
  try {
    await body(s);
  } finally {
    await s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const entries = (from: number, n: number, term: number) =>
  Array.from({ length: n }, (_, k) =>
    putEntry(from + k, term, `key${(from + k) % 4}`, `v${from + k}`),
  );

for (const [name, open] of kinds) {
  describe(`storage ${name}`, () => {
    test("persist writes entries and hard state; the view serves them", () =>
      withStorage(open, async (s) => {
        await s.persist(
          { entries: entries(1, 4, 1), hardState: { term: 1, vote: 2, commit: 3 } },
          true,
        );
        await s.persist({ entries: [] }, true);
        const view = new StorageLogView(s);
        assert.deepEqual(view.initialState().hardState, { term: 1, vote: 2, commit: 3 });
        assert.equal(view.lastIndex(), 4);
        assert.equal(view.entries(1, 5, 0).length, 1, "maxBytes still returns one entry");
        assert.equal(view.term(4), 1);
      }));

    test("a follower far behind gets a snapshot once it is made", () =>
      withStorage(open, async (s) => {
        await s.persist(
          { entries: entries(1, 20, 1), hardState: { term: 1, vote: 1, commit: 20 } },
          true,
        );
        await s.applyEntries(entries(1, 20, 1));
        await s.wal.compact(15);
        const view = new StorageLogView(s);
        assert.throws(
          () => view.snapshot(),
          (e) => isRaftError(e, "snapshot-temporarily-unavailable"),
        );
        await view.prepareSnapshot();
        const snap = view.snapshot();
        assert.equal(snap.metadata.index, 20);
        assert.equal(snap.metadata.term, 1);
        assert.equal(view.snapshot(), snap, "the made snapshot is reused");

        // A member added after the snapshot was made would refuse it: a fresh one is made.
        const members = s.engine.confState();
        await s.engine.setConfState({ voters: [...members.voters, 4], learners: [] });
        assert.throws(
          () => view.snapshot(),
          (e) => isRaftError(e, "snapshot-temporarily-unavailable"),
          "a snapshot lacking a current member is not reused",
        );
        await view.prepareSnapshot();
        assert.ok(view.snapshot().metadata.confState.voters.includes(4));
        await s.engine.setConfState(members);
        await view.prepareSnapshot();

        // Installing it on an empty storage: the engine takes the state, the log restarts after it.
        await withStorage(open, async (follower) => {
          await follower.persist({ entries: entries(21, 2, 2), snapshot: snap }, true);
          assert.equal(follower.engine.appliedIndex(), 20);
          assert.equal(follower.wal.firstIndex(), 21);
          assert.equal(follower.wal.lastIndex(), 22);
          assert.equal(follower.wal.term(20), 1);
          assert.deepEqual(await appliedMap(follower.engine), await appliedMap(s.engine));
        });
      }));

    test("reset() wipes log and engine", () =>
      withStorage(open, async (s) => {
        await s.persist(
          { entries: entries(1, 3, 1), hardState: { term: 1, vote: 1, commit: 3 } },
          true,
        );
        await s.applyEntries(entries(1, 3, 1));
        await s.reset();
        assert.equal(s.wal.lastIndex(), 0);
        assert.equal(s.engine.appliedIndex(), 0);
        assert.deepEqual(s.engine.hardState(), { term: 0, vote: 0, commit: 0 });
      }));
  });
}

test("reconcile refuses a log that starts after what a durable engine applied", async () => {
  // A mem engine standing in for a durable one (split() decides by its kind).
  const durable = Object.defineProperty(new MemEngine(), "kind", { value: "durable" });
  const s = split(new MemWal(), durable);
  await s.wal.reset({ index: 10, term: 2 });
  await assert.rejects(
    reconcile(s, "/data/n1"),
    /\/data\/n1: the log starts at 11 .*remove the data dir/,
  );
});

test("reconcile empties a compacted log beside an engine that kept nothing", async () => {
  const s = split(new MemWal(), new MemEngine());
  await s.wal.reset({ index: 10, term: 2 });
  await reconcile(s, "/data/n1");
  assert.equal(s.wal.lastIndex(), 0);
});

test("the view lowers a remembered commit to the log's end", async () => {
  const s = split(new MemWal(), new MemEngine());
  await s.persist({ entries: entries(1, 2, 1), hardState: { term: 1, vote: 1, commit: 9 } }, true);
  assert.equal(new StorageLogView(s).initialState().hardState.commit, 2);
});

test("split storage syncs the hard state only when term or vote changes", async () => {
  const engine = new MemEngine();
  const syncs: boolean[] = [];
  const setHardState = engine.setHardState.bind(engine);
  engine.setHardState = (hs, opts) => {
    syncs.push(opts.sync);
    return setHardState(hs, opts);
  };
  const s = split(new MemWal(), engine);
  await s.persist({ entries: entries(1, 2, 1), hardState: { term: 1, vote: 1, commit: 0 } }, true);
  await s.persist({ entries: entries(3, 1, 1), hardState: { term: 1, vote: 1, commit: 2 } }, true);
  await s.persist({ entries: [], hardState: { term: 2, vote: 0, commit: 2 } }, true);
  await s.persist({ entries: [], hardState: { term: 2, vote: 3, commit: 3 } }, false);
  assert.deepEqual(syncs, [true, false, true, false]);
  assert.deepEqual(engine.hardState(), { term: 2, vote: 3, commit: 3 });
});
