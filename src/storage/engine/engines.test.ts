import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import type { RootDatabase } from "lmdb";
import { encodeProposal } from "../../proposal/proposal.js";
import { EntryType } from "../../raft/types.js";
import { appliedMap, engineConformance, putEntry } from "../../testing/engine-conformance.js";
import { openLmdbEnv } from "../lmdb-env.js";
import { decodeKvSnapshot, encodeKvSnapshot } from "./kv-snapshot.js";
import { LmdbEngine, MAX_KEY_BYTES, openLmdbEngine } from "./lmdb-engine.js";
import { MemEngine } from "./mem-engine.js";
import { engineKinds, openEngine } from "./registry.js";

engineConformance("mem", async () => new MemEngine());
engineConformance("lmdb", (dir) => openLmdbEngine({ dir }), { reopenable: true });

test("engine registry opens every kind and lists them for an unknown one", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-engine-reg-"));
  try {
    for (const kind of engineKinds) {
      const engine = await openEngine(kind, { dir: path.join(dir, kind) });
      assert.equal(engine.kind, kind);
      await engine.close();
    }
    await assert.rejects(
      openEngine("rocksdb", { dir }),
      /unknown engine "rocksdb": choose one of mem, lmdb/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("kv snapshot data round trips and rejects damage", () => {
  const enc = new TextEncoder();
  const s = {
    index: 2 ** 40,
    term: 9,
    confState: { voters: [1, 2, 300], learners: [7] },
    pairs: [
      [enc.encode("k1"), enc.encode("v1")],
      [new Uint8Array(0), new Uint8Array(1000).fill(3)],
    ] as [Uint8Array, Uint8Array][],
  };
  const data = encodeKvSnapshot(s);
  assert.deepEqual(decodeKvSnapshot(data), { ...s, lists: [], members: [] });
  const full = {
    ...s,
    lists: [
      [enc.encode("q"), [enc.encode("a\r\n"), Uint8Array.of(0, 255)]],
      [new Uint8Array(0), [new Uint8Array(0)]],
    ] as [Uint8Array, Uint8Array[]][],
    members: [
      [1, { resp: "127.0.0.1:6379", http: "127.0.0.1:8080" }],
      [2, { http: "h:1", raft: "10.0.0.2:7001" }],
      [3, {}],
    ] as [number, { resp?: string; http?: string; raft?: string }][],
  };
  assert.deepEqual(decodeKvSnapshot(encodeKvSnapshot(full)), full);
  // Version 1 (strings only) is still read.
  const v1 = Uint8Array.of(1, 5, 2, 0, 0, 1, 1, 0x6b, 1, 0x76);
  assert.deepEqual(decodeKvSnapshot(v1), {
    index: 5,
    term: 2,
    confState: { voters: [], learners: [] },
    pairs: [[enc.encode("k"), enc.encode("v")]],
    lists: [],
    members: [],
  });
  assert.throws(() => decodeKvSnapshot(new Uint8Array(0)), /malformed snapshot: no data/);
  assert.throws(() => decodeKvSnapshot(Uint8Array.of(3)), /version 3/);
  assert.throws(() => decodeKvSnapshot(data.subarray(0, data.length - 1)), /runs past the end/);
  assert.throws(() => decodeKvSnapshot(Uint8Array.of(...data, 0)), /trailing bytes/);
  assert.throws(() => decodeKvSnapshot(Uint8Array.of(2, 1, 1, 0x7f)), /voter count 127/);
});

test("lmdb engine refuses a key beyond its size limit, naming the limit", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-engine-key-"));
  const engine = await openLmdbEngine({ dir });
  try {
    const data = encodeProposal({
      id: 1,
      key: new Uint8Array(MAX_KEY_BYTES + 1),
      value: new Uint8Array(1),
    });
    await assert.rejects(
      engine.applyEntries([{ index: 1, term: 1, type: EntryType.Normal, data }]),
      new RegExp(`exceeds the lmdb engine's limit of ${MAX_KEY_BYTES}: propose shorter keys`),
    );
    assert.equal(engine.appliedIndex(), 0);
    const fits = encodeProposal({
      id: 2,
      key: new Uint8Array(MAX_KEY_BYTES),
      value: new Uint8Array(1),
    });
    await engine.applyEntries([{ index: 1, term: 1, type: EntryType.Normal, data: fits }]);
    assert.equal(engine.appliedIndex(), 1);
  } finally {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Transactions lmdb has committed in `env` so far. */
function lastTxnId(env: RootDatabase): number {
  return (env.getStats() as { lastTxnId: number }).lastTxnId;
}

/** Applies 20 one-entry batches, each followed by a commit-only hard state, in 20 turns. */
async function applyTwentyReadies(engine: LmdbEngine): Promise<void> {
  for (let i = 1; i <= 20; i++) {
    await engine.applyEntries([putEntry(i, 1, `k${i}`, `v${i}`)]);
    await engine.setHardState({ term: 1, vote: 1, commit: i }, { sync: false });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test("lmdb engine beside a WAL gathers unsynced writes into one transaction, and a reopen finds them", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-engine-gather-"));
  try {
    const txns: Record<string, number> = {};
    for (const gatherMs of [0, 60_000]) {
      fs.rmSync(dir, { recursive: true, force: true });
      const env = openLmdbEnv(dir);
      const engine = LmdbEngine.attach(env, { where: dir, ownsEnv: false, gatherMs });
      const before = lastTxnId(env);
      await applyTwentyReadies(engine);
      // A gathering this long never ends by its timer here: flushed() queues it.
      await engine.flushed();
      txns[gatherMs] = lastTxnId(env) - before;
      await engine.close();
      await env.close();
      const reopened = await openLmdbEngine({ dir });
      assert.equal(reopened.appliedIndex(), 20);
      assert.deepEqual(reopened.hardState(), { term: 1, vote: 1, commit: 20 });
      assert.equal((await appliedMap(reopened)).k20, "v20");
      await reopened.close();
    }
    // Queued at once, lmdb's write thread commits whatever arrived while it was busy with the
    // last transaction: fewer than 20, but more than one.
    assert.ok(txns[0]! >= 2, `queued at once: ${txns[0]} transactions for 20 Readies`);
    assert.equal(txns[60_000], 1, "gathered: one transaction for 20 Readies");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("lmdb engine: gathered writes reach lmdb by the timer alone, a term change first queues them", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-engine-gather-"));
  const env = openLmdbEnv(dir);
  const engine = LmdbEngine.attach(env, { where: dir, ownsEnv: false, gatherMs: 20 });
  try {
    const before = lastTxnId(env);
    await engine.applyEntries([putEntry(1, 1, "a", "1")]);
    const deadline = Date.now() + 5000;
    while (lastTxnId(env) === before && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.ok(lastTxnId(env) > before, "the gathering's timer queued the apply");
    await engine.applyEntries([putEntry(2, 1, "b", "2")]);
    // A vote must be durable: it waits for its flush, and the apply gathered before it is
    // queued ahead of it (so lmdb never holds the vote without what was applied first).
    await engine.setHardState({ term: 2, vote: 3, commit: 2 }, { sync: true });
    const applied = engine.appliedIndex();
    await engine.close();
    await env.close();
    const reopened = await openLmdbEngine({ dir });
    assert.equal(reopened.appliedIndex(), applied);
    assert.deepEqual(reopened.hardState(), { term: 2, vote: 3, commit: 2 });
    assert.deepEqual(await appliedMap(reopened), { a: "1", b: "2" });
    await reopened.close();
  } finally {
    await engine.close();
    await env.close().catch(() => {});
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
