import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { makeEntry, walConformance } from "../../testing/wal-conformance.js";
import { openLmdbEnv } from "../lmdb-env.js";
import { TermRuns } from "./lmdb-term-runs.js";
import { LmdbWal, openLmdbWal } from "./lmdb-wal.js";

walConformance("lmdb", (dir) => openLmdbWal({ dir }), { reopenable: true });
walConformance(
  "lmdb with a 2 KiB cache (reads come from lmdb)",
  async (dir) => LmdbWal.attach(openLmdbEnv(dir), { where: dir, cacheBytes: 2048, ownsEnv: true }),
  { reopenable: true },
);

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-lmdb-wal-"));
}

describe("lmdb wal", () => {
  test("entries read from lmdb stay valid after later writes and reads", async () => {
    const dir = tempDir();
    const wal = LmdbWal.attach(openLmdbEnv(dir), { where: dir, cacheBytes: 0, ownsEnv: true });
    try {
      await wal.append([makeEntry(1, 1, 64), makeEntry(2, 1, 64)], { sync: true });
      const [a] = wal.entries(1, 2);
      const before = Buffer.from(a!.data);
      await wal.append([makeEntry(1, 2, 64)], { sync: true }); // replaces the entry read
      wal.entries(1, 2);
      assert.deepEqual(Buffer.from(a!.data), before);
    } finally {
      await wal.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a term below its predecessor's is refused", async () => {
    const dir = tempDir();
    const wal = await openLmdbWal({ dir });
    try {
      await wal.append([makeEntry(1, 3, 8)], { sync: true });
      await assert.rejects(wal.append([makeEntry(2, 2, 8)], { sync: true }), /below the term 3/);
      assert.equal(wal.lastIndex(), 1);
    } finally {
      await wal.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an entry below a stray higher key is still stored (append mode's refusal is checked)", async () => {
    const dir = tempDir();
    const env = openLmdbEnv(dir);
    const wal = LmdbWal.attach(env, { where: dir, cacheBytes: 0, ownsEnv: true });
    try {
      // A key the log does not know about, above everything it will append: lmdb refuses
      // append-mode puts below it.
      const raw = env.openDB<Buffer, number>({ name: "wal-log", encoding: "binary" });
      raw.putSync(50, Buffer.from("stray"));
      const entries = [makeEntry(1, 1, 16), makeEntry(2, 1, 16), makeEntry(3, 2, 16)];
      await wal.append(entries, { sync: true });
      for (const e of entries) {
        const stored = raw.getBinary(e.index);
        assert.ok(stored !== undefined, `entry ${e.index} was not stored`);
        assert.deepEqual(Buffer.from(stored.subarray(9)), Buffer.from(e.data));
      }
      assert.deepEqual(
        wal.entries(1, 4).map((e) => [e.index, e.term]),
        entries.map((e) => [e.index, e.term]),
      );
    } finally {
      await wal.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("writes to a closed log fail", async () => {
    const dir = tempDir();
    const wal = await openLmdbWal({ dir });
    await wal.close();
    await assert.rejects(wal.append([makeEntry(1, 1, 1)], { sync: true }), /closed/);
    await assert.rejects(wal.compact(1), /closed/);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe("term runs", () => {
  test("rebuild by bisection matches a per-index model", () => {
    const terms = [0, 1, 1, 1, 2, 2, 5, 5, 5, 5, 5, 6, 9, 9];
    const rebuilt = TermRuns.rebuild(0, 0, terms.length - 1, (i) => terms[i]!);
    for (let i = 0; i < terms.length; i++) assert.equal(rebuilt.term(i), terms[i], `term(${i})`);
    rebuilt.compact(5);
    assert.equal(rebuilt.prevIndex, 5);
    for (let i = 5; i < terms.length; i++) assert.equal(rebuilt.term(i), terms[i], `term(${i})`);
    rebuilt.truncateFrom(8);
    rebuilt.push(7);
    assert.equal(rebuilt.last, 8);
    assert.equal(rebuilt.term(8), 7);
    assert.equal(rebuilt.term(7), 5);
  });

  test("rebuild refuses a log whose terms go down", () => {
    const terms = [0, 2, 1];
    assert.throws(() => TermRuns.rebuild(0, 0, 2, (i) => terms[i]!), /term 2 at .* above/);
  });
});
