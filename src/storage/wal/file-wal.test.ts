import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { silentLogger } from "../../raft/api.js";
import { type Entry, EntryType } from "../../raft/types.js";
import { walConformance } from "../../testing/wal-conformance.js";
import { FileWal } from "./file-wal.js";

walConformance(
  "file",
  (dir) => FileWal.open({ dir, logger: silentLogger, segmentBytes: 1 << 20 }),
  {
    reopenable: true,
  },
);
walConformance(
  "file with 4 KiB segments and a 2 KiB cache",
  (dir) => FileWal.open({ dir, logger: silentLogger, segmentBytes: 4096, cacheBytes: 2048 }),
  { reopenable: true },
);

describe("file wal I/O thread", () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-file-wal-io-"));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const entry = (index: number, bytes = 100): Entry => ({
    index,
    term: 1,
    type: EntryType.Normal,
    data: new Uint8Array(bytes).fill(index & 0xff),
  });

  test("appends made while a sync is in flight share the next write and fdatasync", async () => {
    const wal = await FileWal.open({ dir, logger: silentLogger, segmentBytes: 1 << 20 });
    const appends: Promise<void>[] = [];
    for (let i = 1; i <= 50; i++) appends.push(wal.append([entry(i)], { sync: true }));
    await Promise.all(appends);
    assert.equal(wal.appendCount, 50);
    assert.ok(wal.syncCount < 50, `${wal.syncCount} fdatasyncs for 50 appends`);
    await wal.close();
    const reopened = await FileWal.open({ dir, logger: silentLogger, segmentBytes: 1 << 20 });
    assert.equal(reopened.lastIndex(), 50);
    for (const e of reopened.entries(1, 51)) assert.equal(e.data[0], e.index & 0xff);
    await reopened.close();
  });

  test("the event loop runs while a synced append waits for the disk", async () => {
    // A disk made 200 ms slower: callbacks queued after the append run before it resolves.
    const wal = await FileWal.open({ dir, logger: silentLogger, syncDelayMs: 200 });
    const order: string[] = [];
    const appended = wal.append([entry(1)], { sync: true }).then(() => order.push("append"));
    await new Promise<void>((resolve) => setImmediate(resolve));
    order.push("immediate");
    await new Promise<void>((resolve) => setTimeout(resolve, 1));
    order.push("timer");
    await appended;
    assert.deepEqual(order, ["immediate", "timer", "append"]);
    await wal.close();
  });

  test("a record larger than the I/O ring moves to a bigger ring and reads back", async () => {
    const wal = await FileWal.open({ dir, logger: silentLogger });
    // 40 × 256 KiB = 10 MiB in one record, between two small ones: more than the thread's
    // first 8 MiB ring holds.
    const big = Array.from({ length: 40 }, (_, k) => entry(k + 2, 256 * 1024));
    await Promise.all([
      wal.append([entry(1)], { sync: true }),
      wal.append(big, { sync: true }),
      wal.append([entry(42)], { sync: true }),
    ]);
    await wal.close();
    const reopened = await FileWal.open({ dir, logger: silentLogger, cacheBytes: 1024 });
    assert.equal(reopened.lastIndex(), 42);
    for (const e of reopened.entries(1, 43)) {
      assert.ok(
        e.data.every((b) => b === (e.index & 0xff)),
        `entry ${e.index}`,
      );
    }
    await reopened.close();
  });

  test("entries the cache dropped before the thread wrote them read back from disk", async () => {
    const wal = await FileWal.open({ dir, logger: silentLogger, cacheBytes: 1024 });
    const appends: Promise<void>[] = [];
    for (let i = 1; i <= 40; i++) appends.push(wal.append([entry(i, 300)], { sync: true }));
    // Most of these are neither cached nor (yet) written: the read waits for the writes.
    const got = wal.entries(1, 41);
    assert.equal(got.length, 40);
    for (const e of got)
      assert.ok(
        e.data.every((b) => b === (e.index & 0xff)),
        `entry ${e.index}`,
      );
    await Promise.all(appends);
    await wal.close();
  });
});

describe("file wal recycling", () => {
  test("a compaction recycles segments lowest first, one at a time: the files left at any moment are contiguous", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-file-wal-recycle-"));
    const realRm = fs.promises.rm;
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let removals = 0;
    try {
      const wal = await FileWal.open({ dir, logger: silentLogger, segmentBytes: 4096 });
      for (let i = 1; i <= 60; i++) {
        const data = new Uint8Array(900).fill(i);
        await wal.append([{ index: i, term: 1, type: EntryType.Normal, data }], { sync: true });
      }
      // The first removal stands for a slow unlink (or a kill just after it started).
      fs.promises.rm = (async (...args: Parameters<typeof realRm>) => {
        if (removals++ === 0) await held;
        return realRm(...args);
      }) as typeof realRm;
      const compacted = wal.compact(58);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const seqs = fs
        .readdirSync(dir)
        .filter((n) => /^[0-9a-f]{16}\.wal$/.test(n))
        .map((n) => Number.parseInt(n, 16))
        .sort((a, b) => a - b);
      release();
      await compacted;
      assert.ok(removals >= 1, "no segment was removed: the test did not exercise a removal");
      for (let k = 1; k < seqs.length; k++) {
        assert.equal(seqs[k], seqs[k - 1]! + 1, `segments on disk mid-pass: ${seqs.join(", ")}`);
      }
      await wal.close();
      const reopened = await FileWal.open({ dir, logger: silentLogger, segmentBytes: 4096 });
      assert.deepEqual([reopened.firstIndex(), reopened.lastIndex()], [59, 60]);
      await reopened.close();
    } finally {
      release();
      fs.promises.rm = realRm;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
