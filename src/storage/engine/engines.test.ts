import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import type { RootDatabase } from "lmdb";
import { encodeCommand } from "../../proposal/command.js";
import type { StateCommand } from "../../proposal/kv.js";
import { encodeProposal } from "../../proposal/proposal.js";
import { SeededRng } from "../../raft/rng.js";
import { type Entry, EntryType, type Snapshot } from "../../raft/types.js";
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

/** A directory for one test, removed afterwards. */
async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-engine-wb-"));
  try {
    await body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** A write-back interval no test waits out: only flushed() and close() write back. */
const NEVER_MS = 600_000;

test("lmdb engine writes applies and commit-only hard states back in one transaction, and a reopen finds them", () =>
  withDir(async (dir) => {
    const env = openLmdbEnv(dir);
    const engine = LmdbEngine.attach(env, { where: dir, ownsEnv: false, writeBackMs: NEVER_MS });
    const before = lastTxnId(env);
    await applyTwentyReadies(engine);
    assert.equal(lastTxnId(env), before, "nothing reaches lmdb between write-backs");
    await engine.flushed();
    assert.equal(lastTxnId(env) - before, 1, "one transaction for 20 Readies");
    await engine.close();
    await env.close();
    const reopened = await openLmdbEngine({ dir });
    assert.equal(reopened.appliedIndex(), 20);
    assert.deepEqual(reopened.hardState(), { term: 1, vote: 1, commit: 20 });
    assert.equal((await appliedMap(reopened)).k20, "v20");
    await reopened.close();
  }));

test("lmdb engine: the timer writes back alone; a term change is flushed at once", () =>
  withDir(async (dir) => {
    const env = openLmdbEnv(dir);
    const engine = LmdbEngine.attach(env, { where: dir, ownsEnv: false, writeBackMs: 20 });
    try {
      const before = lastTxnId(env);
      await engine.applyEntries([putEntry(1, 1, "a", "1")]);
      const deadline = Date.now() + 5000;
      while (lastTxnId(env) === before && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(lastTxnId(env) > before, "the timer wrote the apply back");
      await engine.setHardState({ term: 2, vote: 3, commit: 1 }, { sync: true });
      // Abandoned without close(): what lmdb holds is what was written.
      await env.close();
      const reopened = await openLmdbEngine({ dir });
      assert.equal(reopened.appliedIndex(), 1);
      assert.deepEqual(reopened.hardState(), { term: 2, vote: 3, commit: 1 });
      assert.deepEqual(await appliedMap(reopened), { a: "1" });
      await reopened.close();
    } finally {
      await env.close().catch(() => {});
    }
  }));

const enc = new TextEncoder();

/**
 * A seeded mix of every write over a few keys, so that strings and lists replace each
 * other, lists grow and shrink at both ends and empty out: entries 1..n.
 */
function mixedEntries(seed: number, n: number): Entry[] {
  const rng = new SeededRng(seed);
  const out: Entry[] = [];
  for (let index = 1; index <= n; index++) {
    const key = enc.encode(`key${rng.intn(3)}`);
    const value = enc.encode(`v${index}`);
    const end = rng.intn(2) === 0 ? "left" : "right";
    // Mostly pushes and pops, so lists live across write-backs and change at both ends.
    const pick = rng.intn(20);
    let command: StateCommand | undefined;
    if (pick < 9) command = { op: "push", key, values: [value, enc.encode(`w${index}`)], end };
    else if (pick < 15) command = { op: "pop", key, end };
    else if (pick === 15) command = { op: "set", key, value };
    else if (pick === 16) command = { op: "del", keys: [key] };
    else if (pick === 17) command = { op: "incrby", key, by: 3n };
    else if (pick === 18) {
      command = { op: "member-addresses", id: rng.intn(3), addresses: { resp: `r${index}` } };
    }
    const data =
      command === undefined
        ? encodeProposal({ id: index, key, value })
        : encodeCommand(index, command);
    out.push({ index, term: 1, type: EntryType.Normal, data });
  }
  return out;
}

/** A snapshot's state in a form deepEqual compares whatever order it was encoded in. */
function stateOf(snapshot: Snapshot): unknown {
  const s = decodeKvSnapshot(snapshot.data);
  const text = (b: Uint8Array) => Buffer.from(b).toString("latin1");
  return {
    index: s.index,
    term: s.term,
    pairs: s.pairs.map(([k, v]) => `${text(k)}=${text(v)}`).sort(),
    lists: s.lists.map(([k, es]) => `${text(k)}=[${es.map(text).join(",")}]`).sort(),
    members: [...s.members].sort((a, b) => a[0] - b[0]),
  };
}

/** Records in the lmdb engine's key database: one per string, per list, per element. */
async function storedRecords(dir: string): Promise<number> {
  const env = openLmdbEnv(dir);
  try {
    const kv = env.openDB<Buffer, Buffer>({
      name: "engine-kv",
      encoding: "binary",
      keyEncoding: "binary",
    });
    return kv.getKeysCount();
  } finally {
    await env.close();
  }
}

/** The records a state needs: one per string, per list, per element. */
function recordsOf(snapshot: Snapshot): number {
  const s = decodeKvSnapshot(snapshot.data);
  return s.pairs.length + s.lists.reduce((n, [, es]) => n + 1 + es.length, 0);
}

/** The mem engine's snapshot after applying `entries` in batches of `batch`. */
async function memSnapshot(entries: readonly Entry[], batch: number): Promise<Snapshot> {
  const mem = new MemEngine();
  for (let i = 0; i < entries.length; i += batch)
    await mem.applyEntries(entries.slice(i, i + batch));
  return mem.snapshot();
}

test("lmdb engine: a crash between write-backs leaves lmdb at the last one's point and state; the log replays the rest", async () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    await withDir(async (dir) => {
      const entries = mixedEntries(seed, 400);
      const rng = new SeededRng(seed * 7919);
      const crashAfter = 100 + rng.intn(300);
      const env = openLmdbEnv(dir);
      const engine = LmdbEngine.attach(env, { where: dir, ownsEnv: false, writeBackMs: NEVER_MS });
      let flushedAt = 0;
      for (let next = 1; next <= crashAfter; ) {
        const n = Math.min(1 + rng.intn(12), crashAfter + 1 - next);
        await engine.applyEntries(entries.slice(next - 1, next - 1 + n));
        next += n;
        if (rng.intn(3) === 0) {
          await engine.flushed();
          flushedAt = next - 1;
        }
      }
      const context = `seed ${seed}: crash after ${crashAfter}, last write-back at ${flushedAt}`;
      const before = stateOf(await engine.snapshot());
      assert.deepEqual(
        before,
        stateOf(await memSnapshot(entries.slice(0, crashAfter), 5)),
        context,
      );
      await env.close(); // the crash: the engine never writes back again
      assert.equal(
        await storedRecords(dir),
        recordsOf(await memSnapshot(entries.slice(0, flushedAt), 9)),
        `${context}: lmdb holds nothing else`,
      );
      const reopened = await openLmdbEngine({ dir, writeBackMs: NEVER_MS });
      try {
        assert.equal(reopened.appliedIndex(), flushedAt, context);
        assert.deepEqual(
          stateOf(await reopened.snapshot()),
          stateOf(await memSnapshot(entries.slice(0, flushedAt), 7)),
          `${context}: lmdb holds the state at its applied point`,
        );
        // The log replays from the start; what was applied is skipped.
        await reopened.applyEntries(entries.slice(0, crashAfter));
        assert.deepEqual(stateOf(await reopened.snapshot()), before, `${context}: replayed`);
        await reopened.applyEntries(entries.slice(crashAfter));
        await reopened.close();
        const again = await openLmdbEngine({ dir });
        assert.deepEqual(
          stateOf(await again.snapshot()),
          stateOf(await memSnapshot(entries, 400)),
          `${context}: closed after the rest, reopened`,
        );
        await again.close();
      } finally {
        await reopened.close();
      }
    });
  }
});

test("lmdb engine: flushed() waits for the write-back in flight, then writes back what it missed", () =>
  withDir(async (dir) => {
    const env = openLmdbEnv(dir);
    const engine = LmdbEngine.attach(env, { where: dir, ownsEnv: false, writeBackMs: NEVER_MS });
    await engine.applyEntries([putEntry(1, 1, "a", "1"), putEntry(2, 1, "b", "2")]);
    const first = engine.flushed(); // queues a write-back of entries 1-2
    await engine.applyEntries([putEntry(3, 1, "a", "3")]); // while it is in flight
    const txns = lastTxnId(env);
    await engine.flushed();
    assert.equal(lastTxnId(env) - txns, 2, "the one in flight, then one holding entry 3");
    await first;
    await env.close(); // abandoned: only what flushed() waited for
    const reopened = await openLmdbEngine({ dir });
    assert.equal(reopened.appliedIndex(), 3);
    assert.deepEqual(await appliedMap(reopened), { a: "3", b: "2" });
    await reopened.close();
  }));

test("lmdb engine: a snapshot between write-backs is the state in memory at the applied index", () =>
  withDir(async (dir) => {
    const entries = mixedEntries(9, 120);
    const engine = await openLmdbEngine({ dir, writeBackMs: NEVER_MS });
    try {
      await engine.applyEntries(entries.slice(0, 50));
      await engine.flushed();
      await engine.applyEntries(entries.slice(50, 90));
      const snap = await engine.snapshot();
      assert.equal(snap.metadata.index, 90);
      assert.deepEqual(stateOf(snap), stateOf(await memSnapshot(entries.slice(0, 90), 90)));
      // Restored elsewhere it goes on like the source.
      const target = new MemEngine();
      await target.restore(snap);
      await target.applyEntries(entries.slice(90));
      await engine.applyEntries(entries.slice(90));
      assert.deepEqual(stateOf(await target.snapshot()), stateOf(await engine.snapshot()));
    } finally {
      await engine.close();
    }
  }));

test("lmdb engine on its write-back thread: a write-back of many keys yields a turn per slice, and takes in what changed meanwhile", () =>
  withDir(async (dir) => {
    const env = openLmdbEnv(dir);
    const engine = LmdbEngine.attach(env, {
      where: dir,
      ownsEnv: false,
      writeBackMs: NEVER_MS,
      thread: { dir },
      sliceKeys: 100,
    });
    try {
      await engine.applyEntries(
        Array.from({ length: 1000 }, (_, i) => putEntry(i + 1, 1, `k${i}`, "v1")),
      );
      const before = lastTxnId(env);
      // Three turns into the write-back (1,000 keys, 100 a turn), every key changes again,
      // the ones already sent included. Were the write-back packed in one turn, its
      // transaction would hold v1 and a second one v2.
      const rewrite = async () => {
        for (let turn = 0; turn < 3; turn++) await new Promise((r) => setImmediate(r));
        await engine.applyEntries(
          Array.from({ length: 1000 }, (_, i) => putEntry(1001 + i, 1, `k${i}`, "v2")),
        );
      };
      await Promise.all([engine.flushed(), rewrite()]);
      await engine.flushed();
      assert.equal(
        lastTxnId(env) - before,
        1,
        "one transaction, holding the changes made meanwhile",
      );
    } finally {
      await engine.close();
      await env.close();
    }
    const reopened = await openLmdbEngine({ dir });
    try {
      assert.equal(reopened.appliedIndex(), 2000);
      const map = await appliedMap(reopened);
      assert.equal(Object.keys(map).length, 1000);
      for (let i = 0; i < 1000; i++) assert.equal(map[`k${i}`], "v2", `k${i}`);
    } finally {
      await reopened.close();
    }
  }));

test("lmdb engine on its write-back thread: sliced write-backs of strings and lists end at the state in memory", () =>
  withDir(async (dir) => {
    const entries = mixedEntries(11, 400);
    const engine = await openLmdbEngine({ dir, writeBackMs: NEVER_MS, sliceKeys: 2 });
    for (let next = 0; next < entries.length; next += 40) {
      await engine.applyEntries(entries.slice(next, next + 40));
      if (next % 80 === 0) await engine.flushed();
    }
    const want = stateOf(await memSnapshot(entries, 400));
    assert.deepEqual(stateOf(await engine.snapshot()), want);
    await engine.flushed();
    await engine.close();
    const reopened = await openLmdbEngine({ dir });
    try {
      assert.equal(reopened.appliedIndex(), 400);
      assert.deepEqual(stateOf(await reopened.snapshot()), want);
    } finally {
      await reopened.close();
    }
  }));

test("lmdb engine: flushedThrough() waits for the schedule's write-back, and a crash leaves lmdb at the durable applied index it reported", async () => {
  for (const threaded of [true, false]) {
    await withDir(async (dir) => {
      const env = openLmdbEnv(dir);
      const engine = threaded
        ? await openLmdbEngine({ dir, writeBackMs: NEVER_MS })
        : LmdbEngine.attach(env, { where: dir, ownsEnv: false, writeBackMs: NEVER_MS });
      const context = threaded ? "on its write-back thread" : "in one turn";
      await engine.applyEntries([putEntry(1, 1, "a", "1"), putEntry(2, 1, "b", "2")]);
      await engine.flushed();
      assert.equal(engine.durableAppliedIndex(), 2, context);
      await engine.flushedThrough(2); // already durable: at once
      await engine.applyEntries([putEntry(3, 1, "a", "3"), putEntry(4, 1, "c", "4")]);
      let answered = false;
      const through3 = engine.flushedThrough(3).then(() => {
        answered = true;
      });
      // A term change goes to lmdb and is flushed; the applies wait for their write-back.
      const txns = lastTxnId(env);
      await engine.setHardState({ term: 2, vote: 1, commit: 4 }, { sync: true });
      assert.equal(lastTxnId(env) - txns, 1, `${context}: the term change alone`);
      assert.equal(answered, false, `${context}: flushedThrough() hastened nothing`);
      assert.equal(engine.durableAppliedIndex(), 2, context);
      await env.close(); // the crash: lmdb holds what it reported durable
      const crashed = await openLmdbEngine({ dir, writeBackMs: NEVER_MS });
      assert.equal(crashed.appliedIndex(), 2, `${context}: the restart starts at the bound`);
      assert.deepEqual(await appliedMap(crashed), { a: "1", b: "2" }, context);
      await crashed.close();
      if (!threaded) return;
      // (A threaded engine's own handle outlives the closed one: its write-back still works.)
      await engine.flushed();
      await through3;
      assert.equal(engine.durableAppliedIndex(), 4, context);
      await engine.close();
    });
  }
});

test("lmdb engine: flushedThrough() waiters are answered by clear() and refused by close()", () =>
  withDir(async (dir) => {
    const engine = await openLmdbEngine({ dir, writeBackMs: NEVER_MS });
    await engine.applyEntries([putEntry(1, 1, "a", "1")]);
    const wiped = engine.flushedThrough(1);
    await engine.clear();
    await wiped; // the state it waited for is gone, and so is the log it guarded
    assert.equal(engine.durableAppliedIndex(), 0);
    const never = assert.rejects(engine.flushedThrough(5), /closed/); // not applied by then
    await engine.close();
    await never;
  }));

/** Puts and deletes of keys of 0-4 bytes (bytes 0x00 and 0xff included: order is by byte), and `long` beside. */
function shortKeyEntries(seed: number, n: number, long?: string): Entry[] {
  const rng = new SeededRng(seed);
  const keys = [
    [],
    [0],
    [0, 0],
    [1],
    [0xff],
    [0xff, 0],
    [1, 2, 3, 4],
    [0, 0, 0, 0],
    [0xff, 0xff, 0xff, 0xff],
    [0x80, 1],
    [2, 0xff, 0],
  ].map((k) => Uint8Array.from(k));
  if (long !== undefined) keys.push(enc.encode(long));
  const out: Entry[] = [];
  for (let index = 1; index <= n; index++) {
    const key = keys[rng.intn(keys.length)]!;
    const data =
      rng.intn(4) === 0
        ? encodeCommand(index, { op: "del", keys: [key] })
        : encodeProposal({ id: index, key, value: enc.encode(`v${index}`) });
    out.push({ index, term: 1, type: EntryType.Normal, data });
  }
  return out;
}

test("lmdb engine on its write-back thread: rewrites (every string refilled in key order) end at the state in memory, applies during the rewrite included", async () => {
  for (const long of [undefined, "a key longer than four bytes"]) {
    await withDir(async (dir) => {
      const entries = shortKeyEntries(7, 600, long);
      const context = long === undefined ? "short keys" : "with a long key";
      // Every write-back a rewrite (fraction 0), one string per turn: applies land between slices.
      const engine = await openLmdbEngine({
        dir,
        writeBackMs: NEVER_MS,
        sliceKeys: 1,
        rewriteFraction: 0,
      });
      for (let next = 0; next < entries.length; next += 30) {
        const writing = engine.flushed();
        await engine.applyEntries(entries.slice(next, next + 15));
        await new Promise((resolve) => setImmediate(resolve));
        await engine.applyEntries(entries.slice(next + 15, next + 30));
        await writing;
      }
      await engine.flushed();
      const want = stateOf(await memSnapshot(entries, 30));
      assert.deepEqual(stateOf(await engine.snapshot()), want, context);
      await engine.close();
      const reopened = await openLmdbEngine({ dir });
      try {
        assert.equal(reopened.appliedIndex(), 600, context);
        assert.deepEqual(stateOf(await reopened.snapshot()), want, context);
      } finally {
        await reopened.close();
      }
      // Nothing stale is left behind: one record per string.
      const strings = (want as { pairs: string[] }).pairs.length;
      assert.equal(await storedRecords(dir), strings, context);
    });
  }
});
