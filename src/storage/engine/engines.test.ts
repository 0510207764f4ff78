import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { encodeProposal } from "../../proposal/proposal.js";
import { EntryType } from "../../raft/types.js";
import { engineConformance } from "../../testing/engine-conformance.js";
import { decodeKvSnapshot, encodeKvSnapshot } from "./kv-snapshot.js";
import { MAX_KEY_BYTES, openLmdbEngine } from "./lmdb-engine.js";
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
