// Term, vote, commit and the log survive a restart in every durable combination, and a
// RawNode built over the restarted storage starts from them. Combinations that are not
// durable for some part are checked to lose exactly that part (see storage.ts).
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { RawNode } from "../raft/rawnode.js";
import { SeededRng } from "../raft/rng.js";
import type { Entry, HardState } from "../raft/types.js";
import { appliedMap, putEntry } from "../testing/engine-conformance.js";
import { openLmdbEngine } from "./engine/lmdb-engine.js";
import { MemEngine } from "./engine/mem-engine.js";
import { openLmdbStorage } from "./lmdb-storage.js";
import { StorageLogView } from "./log-view.js";
import { reconcile, type Storage, split } from "./storage.js";
import { openLmdbWal } from "./wal/lmdb-wal.js";
import { MemWal } from "./wal/mem-wal.js";
import { openWal } from "./wal/registry.js";

interface Combo {
  name: string;
  open(dir: string): Promise<Storage>;
  keepsLog: boolean;
  keepsHardState: boolean;
}

const combos: Combo[] = [
  {
    name: "file wal + lmdb engine",
    open: async (dir) =>
      split(
        await openWal("file", { dir: path.join(dir, "wal") }),
        await openLmdbEngine({ dir: path.join(dir, "engine") }),
      ),
    keepsLog: true,
    keepsHardState: true,
  },
  {
    name: "lmdb wal + lmdb engine",
    open: async (dir) =>
      split(
        await openLmdbWal({ dir: path.join(dir, "wal") }),
        await openLmdbEngine({ dir: path.join(dir, "engine") }),
      ),
    keepsLog: true,
    keepsHardState: true,
  },
  {
    name: "lmdb storage (one transaction per Ready)",
    open: (dir) => openLmdbStorage({ dir }),
    keepsLog: true,
    keepsHardState: true,
  },
  {
    name: "file wal + mem engine (log only)",
    open: async (dir) =>
      split(await openWal("file", { dir: path.join(dir, "wal") }), new MemEngine()),
    keepsLog: true,
    keepsHardState: false,
  },
  {
    name: "mem wal + lmdb engine (hard and applied state only)",
    open: async (dir) =>
      split(new MemWal(), await openLmdbEngine({ dir: path.join(dir, "engine") })),
    keepsLog: false,
    keepsHardState: true,
  },
];

const voters = [1, 2, 3];
const firstBatch = Array.from({ length: 5 }, (_, k) => putEntry(k + 1, 1, `k${k % 3}`, `a${k}`));
const secondBatch = Array.from({ length: 5 }, (_, k) => putEntry(k + 6, 2, `k${k % 3}`, `b${k}`));
const finalHardState: HardState = { term: 2, vote: 3, commit: 8 };

function startNode(storage: Storage): RawNode {
  return new RawNode({
    id: 1,
    electionTick: 10,
    heartbeatTick: 1,
    storage: new StorageLogView(storage),
    applied: storage.engine.appliedIndex(),
    maxInflightMsgs: 256,
    rng: new SeededRng(1),
  });
}

function terms(entries: readonly Entry[]): number[] {
  return entries.map((e) => e.term);
}

describe("stable state across a restart", () => {
  for (const combo of combos) {
    test(combo.name, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-stable-"));
      try {
        let storage = await combo.open(dir);
        assert.equal(storage.durableLog, combo.keepsLog, "durableLog flag");
        assert.equal(storage.durableHardState, combo.keepsHardState, "durableHardState flag");
        await storage.engine.setConfState({ voters, learners: [] });
        await storage.persist(
          { entries: firstBatch, hardState: { term: 1, vote: 1, commit: 0 } },
          true,
        );
        await storage.persist({ entries: secondBatch, hardState: finalHardState }, true);
        await storage.applyEntries([...firstBatch, ...secondBatch].slice(0, 8));
        const mapBefore = await appliedMap(storage.engine);
        await storage.close();

        storage = await combo.open(dir);
        await reconcile(storage, dir);
        const view = new StorageLogView(storage);
        const { hardState, confState } = view.initialState();
        const node = startNode(storage);
        const status = node.status();
        if (combo.keepsHardState) {
          assert.deepEqual(hardState, finalHardState);
          assert.deepEqual(confState.voters, voters);
          assert.equal(storage.engine.appliedIndex(), 8);
          assert.deepEqual(await appliedMap(storage.engine), mapBefore);
          assert.equal(status.term, 2, "RawNode term");
          assert.equal(status.vote, 3, "RawNode vote");
          assert.equal(status.commit, 8, "RawNode commit");
        } else {
          assert.deepEqual(hardState, { term: 0, vote: 0, commit: 0 });
          assert.equal(storage.engine.appliedIndex(), 0);
          assert.equal(status.term, 0);
        }
        if (combo.keepsLog) {
          assert.equal(view.firstIndex(), 1);
          assert.equal(view.lastIndex(), 10);
          assert.deepEqual(terms(view.entries(1, 11, Infinity)), [1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
          assert.deepEqual(
            view.entries(6, 11, Infinity).map((e) => Buffer.from(e.data)),
            secondBatch.map((e) => Buffer.from(e.data)),
          );
        } else {
          // The log restarts just after the applied point, which the engine kept.
          assert.equal(view.firstIndex(), 9);
          assert.equal(view.lastIndex(), 8);
          assert.equal(view.term(8), 2);
        }
        await storage.close();
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
