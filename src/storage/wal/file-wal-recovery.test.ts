// Recovery of the file log from damaged files, and its behaviour when the disk fails.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { type Logger, silentLogger } from "../../raft/api.js";
import { type Entry, EntryType } from "../../raft/types.js";
import { StorageFault } from "../storage-fault.js";
import { FileWal } from "./file-wal.js";
import { WalCorruptionError } from "./recovery.js";
import { segmentFileName } from "./segment.js";

const SEGMENT = 64 * 1024;
const ENTRY_BYTES = 300;
const PER_BATCH = 5;

/** Batch k (from 1) holds entries 5k-4..5k whose data bytes are all equal to k. */
function batch(k: number, term = 1): Entry[] {
  return Array.from({ length: PER_BATCH }, (_, j) => ({
    index: (k - 1) * PER_BATCH + j + 1,
    term,
    type: EntryType.Normal,
    data: new Uint8Array(ENTRY_BYTES).fill(k),
  }));
}

function capture(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, logger: { debug() {}, info() {}, warn: (m) => warnings.push(m) } };
}

let dir = "";
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-wal-recovery-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

async function writeBatches(
  count: number,
  opts: { segmentBytes?: number; sync?: (k: number) => boolean } = {},
) {
  const wal = await FileWal.open({
    dir,
    logger: silentLogger,
    segmentBytes: opts.segmentBytes ?? SEGMENT,
  });
  for (let k = 1; k <= count; k++) await wal.append(batch(k), { sync: opts.sync?.(k) ?? true });
  await wal.close();
}

/** Flips one byte in the middle of the data of batch `k` in `file`; returns its offset. */
function flipInBatch(file: string, k: number): number {
  const buf = fs.readFileSync(file);
  const at = buf.indexOf(Buffer.alloc(ENTRY_BYTES, k)) + 2 * ENTRY_BYTES;
  assert.ok(at >= 2 * ENTRY_BYTES, `batch ${k} found in ${file}`);
  buf[at] = buf[at]! ^ 0x5a;
  fs.writeFileSync(file, buf);
  return at;
}

const segPath = (seq: number) => path.join(dir, segmentFileName(seq));
const batchRecordBytes = PER_BATCH * (ENTRY_BYTES + 13) + 12 + 16 + 8;

describe("file wal recovery", () => {
  test("a flipped byte before valid records fails the open, naming file and offset", async () => {
    await writeBatches(10);
    const flipped = flipInBatch(segPath(1), 4);
    const err = await FileWal.open({ dir, logger: silentLogger, segmentBytes: SEGMENT }).then(
      () => assert.fail("open succeeded on a corrupt log"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WalCorruptionError, `got ${String(err)}`);
    assert.equal(err.file, segPath(1));
    assert.ok(
      err.offset <= flipped && flipped - err.offset < batchRecordBytes,
      `offset ${err.offset}`,
    );
    assert.match(
      err.message,
      new RegExp(`${segmentFileName(1)} is corrupt at offset ${err.offset}`),
    );
  });

  test("corruption in an earlier segment fails the open, naming that segment", async () => {
    await writeBatches(60, { segmentBytes: 8192 });
    const files = fs.readdirSync(dir).filter((f) => /^[0-9a-f]{16}\.wal$/.test(f));
    assert.ok(files.length > 5, "the log spans many segments");
    const holder = files.find((f) =>
      fs.readFileSync(path.join(dir, f)).includes(Buffer.alloc(ENTRY_BYTES, 30)),
    );
    assert.ok(
      holder !== undefined && holder !== files.at(-1),
      "batch 30 lies in an earlier segment",
    );
    flipInBatch(path.join(dir, holder), 30);
    await assert.rejects(
      FileWal.open({ dir, logger: silentLogger, segmentBytes: 8192 }),
      (e: unknown) => e instanceof WalCorruptionError && e.file === path.join(dir, holder),
    );
  });

  test("a flipped byte in the last record is a torn tail: cut with a warning naming file and offset", async () => {
    await writeBatches(10);
    const flipped = flipInBatch(segPath(1), 10);
    const { logger, warnings } = capture();
    const wal = await FileWal.open({ dir, logger, segmentBytes: SEGMENT });
    assert.equal(wal.lastIndex(), 9 * PER_BATCH, "the log ends at the last good record");
    assert.equal(warnings.length, 1);
    const offset = Number(/at offset (\d+)/.exec(warnings[0]!)?.[1]);
    assert.ok(warnings[0]!.includes(segPath(1)), warnings[0]);
    assert.ok(offset <= flipped && flipped - offset < batchRecordBytes, warnings[0]);
    // The cut is sealed: new records go to a fresh segment and the debris is never read.
    await wal.append(batch(10, 2), { sync: true });
    await wal.close();
    const again = capture();
    const reopened = await FileWal.open({ dir, logger: again.logger, segmentBytes: SEGMENT });
    assert.deepEqual(again.warnings, []);
    assert.equal(reopened.lastIndex(), 10 * PER_BATCH);
    assert.equal(reopened.term(10 * PER_BATCH), 2);
    assert.deepEqual(Array.from(reopened.entries(46, 47)[0]!.data.subarray(0, 3)), [10, 10, 10]);
    await reopened.close();
  });

  test("a partly written last record (zeros from some point on) is a torn tail", async () => {
    await writeBatches(6);
    const buf = fs.readFileSync(segPath(1));
    const start = buf.indexOf(Buffer.alloc(ENTRY_BYTES, 6));
    buf.fill(0, start + ENTRY_BYTES);
    fs.writeFileSync(segPath(1), buf);
    const { logger, warnings } = capture();
    const wal = await FileWal.open({ dir, logger, segmentBytes: SEGMENT });
    assert.equal(wal.lastIndex(), 5 * PER_BATCH);
    assert.match(warnings.join("\n"), /torn tail in .*0000000000000001\.wal at offset \d+/);
    await wal.close();
  });

  test("a torn first write of a segment is cut at offset 0, and the log goes on", async () => {
    // 8 KiB segments hold 5 batches; batch 6 opens segment 2 with a checkpoint record.
    await writeBatches(6, { segmentBytes: 8192 });
    const buf = fs.readFileSync(segPath(2));
    assert.ok(buf.includes(Buffer.alloc(ENTRY_BYTES, 6)), "batch 6 lies in segment 2");
    buf[20] = buf[20]! ^ 0xff; // inside the checkpoint: the first page of the write is lost
    fs.writeFileSync(segPath(2), buf);
    const { logger, warnings } = capture();
    const wal = await FileWal.open({ dir, logger, segmentBytes: 8192 });
    assert.equal(wal.lastIndex(), 5 * PER_BATCH);
    assert.match(warnings.join(), /0000000000000002\.wal at offset 0 /);
    await wal.append(batch(6, 2), { sync: true });
    await wal.close();
    const again = capture();
    const reopened = await FileWal.open({ dir, logger: again.logger, segmentBytes: 8192 });
    assert.deepEqual(again.warnings, []);
    assert.equal(reopened.lastIndex(), 6 * PER_BATCH);
    assert.equal(reopened.term(6 * PER_BATCH), 2);
    await reopened.close();
  });

  test("a clean end of the log is no torn tail: no warning, writing continues in place", async () => {
    await writeBatches(3);
    const { logger, warnings } = capture();
    const wal = await FileWal.open({ dir, logger, segmentBytes: SEGMENT });
    await wal.append(batch(4), { sync: true });
    await wal.close();
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith(".wal") && !f.startsWith("spare")),
      [segmentFileName(1)],
    );
  });

  test("damage to records that were never synced before the next write is cut, not fatal", async () => {
    // Batches 4 and 5 were written without sync, so their loss in a crash is legitimate
    // even though later bytes reached the disk.
    await writeBatches(5, { sync: (k) => k < 4 });
    flipInBatch(segPath(1), 4);
    const { logger, warnings } = capture();
    const wal = await FileWal.open({ dir, logger, segmentBytes: SEGMENT });
    assert.equal(wal.lastIndex(), 3 * PER_BATCH);
    assert.equal(warnings.length, 1);
    await wal.close();
  });

  test("a missing segment in the middle is an error naming it", async () => {
    await writeBatches(40, { segmentBytes: 8192 });
    fs.rmSync(segPath(3));
    await assert.rejects(
      FileWal.open({ dir, logger: silentLogger, segmentBytes: 8192 }),
      new RegExp(`${segmentFileName(3)} is missing`),
    );
  });

  test("a large batch is padded so the next write starts on a page boundary", async () => {
    const big = (k: number, first: number) =>
      Array.from({ length: 100 }, (_, j) => ({
        index: first + j,
        term: 1,
        type: EntryType.Normal,
        data: new Uint8Array(400).fill(k),
      }));
    const wal = await FileWal.open({ dir, logger: silentLogger, segmentBytes: SEGMENT * 4 });
    await wal.append(batch(1), { sync: true }); // small: entries 1..5, leaves the file mid-page
    await wal.append(big(201, 6), { sync: true });
    await wal.append(big(202, 106), { sync: true });
    await wal.close();
    const file = fs.readFileSync(segPath(1));
    const dataAt = file.indexOf(Buffer.alloc(400, 202));
    // Record header (16) + batch header (12) + entry header (13) precede the first data.
    assert.equal((dataAt - 41) % 4096, 0, `second large record starts at ${dataAt - 41}`);
    const reopened = await FileWal.open({ dir, logger: silentLogger, segmentBytes: SEGMENT * 4 });
    assert.equal(reopened.lastIndex(), 205);
    const got = reopened.entries(1, 206);
    assert.deepEqual(
      got.map((e) => e.data[0]),
      [...Array(5).fill(1), ...Array(100).fill(201), ...Array(100).fill(202)],
    );
    await reopened.close();
  });

  test("compaction recycles segment files into spares that are reused", async () => {
    const wal = await FileWal.open({ dir, logger: silentLogger, segmentBytes: 8192 });
    for (let k = 1; k <= 40; k++) await wal.append(batch(k), { sync: true });
    const segments = () => fs.readdirSync(dir).filter((f) => /^[0-9a-f]{16}\.wal$/.test(f));
    const spares = () => fs.readdirSync(dir).filter((f) => /^spare-\d+\.wal$/.test(f));
    const before = segments().length;
    await wal.compact(39 * PER_BATCH);
    assert.ok(
      segments().length < before / 2,
      `${before} segments before, ${segments().length} after`,
    );
    assert.ok(spares().length >= 1 && spares().length <= 2, `spares: ${spares().join(", ")}`);
    const inode = (f: string) => fs.statSync(path.join(dir, f)).ino;
    const spareInodes = new Set(spares().map(inode));
    for (let k = 41; k <= 50; k++) await wal.append(batch(k), { sync: true });
    assert.ok(
      segments().some((f) => spareInodes.has(inode(f))),
      "a new segment is a renamed spare, not a new file",
    );
    await wal.close();
  });
});

describe("file wal disk failures", () => {
  for (const [which, code] of [
    ["write", "ENOSPC"],
    ["fdatasync", "EIO"],
  ] as const) {
    test(`a failed ${which} (${code}) rejects the append and every later call`, async () => {
      const wal = await FileWal.open({
        dir,
        logger: silentLogger,
        faults: { op: which, failAt: 4, code },
      });
      await wal.append(batch(1), { sync: true });
      await assert.rejects(
        (async () => {
          for (let k = 2; k <= 5; k++) await wal.append(batch(k), { sync: true });
        })(),
        (e: Error) =>
          e instanceof StorageFault &&
          e.errno === code &&
          e.code === (code === "ENOSPC" ? "disk-full" : "io-failed") &&
          e.message.includes(code) &&
          e.message.includes(dir),
      );
      await assert.rejects(wal.append(batch(6), { sync: true }), new RegExp(code));
      await assert.rejects(wal.compact(1), new RegExp(code));
      assert.throws(() => wal.lastIndex(), new RegExp(code));
      assert.throws(() => wal.entries(1, 2), new RegExp(code));
      await wal.close();
      // What was durable before the failure is still there.
      const reopened = await FileWal.open({ dir, logger: silentLogger });
      assert.ok(reopened.lastIndex() >= PER_BATCH, `last index ${reopened.lastIndex()}`);
      await reopened.close();
    });
  }
});
