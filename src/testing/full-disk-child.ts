// Run by full-disk.test.ts under `ulimit -f` (a file size limit stands in for a full disk):
// appends synced batches of 4 KiB entries until a write fails, then prints what happened as
// one JSON line. Usage: full-disk-child <wal|storage|file|file-open|engine> <dir>
// (wal, storage: lmdb; file: the file WAL with 1 MiB segments; file-open: opening a file WAL
// whose 64 MiB first segment cannot be preallocated; engine: the lmdb engine, applying
// batches of 4 KiB puts and waiting for each one's write-back with flushed().)
import * as fs from "node:fs";
import { encodeProposal } from "../proposal/proposal.js";
import { type Entry, EntryType } from "../raft/types.js";
import { openLmdbEngine } from "../storage/engine/lmdb-engine.js";
import { openLmdbStorage } from "../storage/lmdb-storage.js";
import { isStorageFault } from "../storage/storage-fault.js";
import { openFileWal } from "../storage/wal/file-wal.js";
import { openLmdbWal } from "../storage/wal/lmdb-wal.js";
import type { Wal } from "../storage/wal/wal.js";

export interface FullDiskReport {
  /** Highest index whose synced append resolved. */
  acked: number;
  /** Message of the first failed write, if one failed. */
  error?: string;
  /** Message of a write attempted after the failure, if it failed too. */
  errorAfter?: string;
  /** Whether the first error was a StorageFault (reported in one line, exit 2). */
  fault?: boolean;
  /** The files in the dir afterwards (file modes). */
  files?: string[];
}

// Without a handler, exceeding the limit kills the process; with one, write() fails (EFBIG).
process.on("SIGXFSZ", () => {});

async function main(): Promise<void> {
  const [mode, dir] = process.argv.slice(2);
  const modes = ["wal", "storage", "file", "file-open", "engine"];
  if (mode === undefined || !modes.includes(mode) || dir === undefined) {
    throw new Error("usage: full-disk-child <wal|storage|file|file-open|engine> <dir>");
  }
  if (mode === "engine") return engineUntilFull(dir);
  if (mode === "file-open") {
    const report: FullDiskReport = { acked: 0 };
    try {
      await (await openFileWal({ dir })).close();
    } catch (err) {
      report.error = err instanceof Error ? err.message : String(err);
      report.fault = isStorageFault(err);
    }
    report.files = fs.readdirSync(dir);
    process.stdout.write(`${JSON.stringify(report)}\n`);
    process.exit(0);
  }
  const storage = mode === "storage" ? await openLmdbStorage({ dir }) : undefined;
  let wal: Wal | undefined;
  if (mode === "wal") wal = await openLmdbWal({ dir });
  if (mode === "file") wal = await openFileWal({ dir, segmentBytes: 1 << 20 });
  const write = (index: number, count: number): Promise<void> => {
    const entries = Array.from({ length: count }, (_, k) => ({
      index: index + k,
      term: 1,
      type: EntryType.Normal,
      data: new Uint8Array(4096).fill((index + k) & 0xff),
    }));
    if (storage !== undefined) {
      return storage.persist({ entries, hardState: { term: 1, vote: 1, commit: index } }, true);
    }
    return wal!.append(entries, { sync: true });
  };
  const report: FullDiskReport = { acked: 0 };
  try {
    for (let batch = 0; batch < 4000; batch++) {
      // The limit is per file and file segments stay below it, so the file log is made
      // to start a segment larger than the limit (one batch of ~4.7 MiB) after a while.
      const count = mode === "file" && batch >= 50 ? 1200 : 8;
      await write(report.acked + 1, count);
      report.acked += count;
    }
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    report.fault = isStorageFault(err);
    await write(report.acked + 1, 1).catch((again: unknown) => {
      report.errorAfter = again instanceof Error ? again.message : String(again);
    });
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // The environment may refuse to close cleanly after a failed commit; the report is out.
  process.exit(0);
}

/** A 4 KiB put of key `index` (4 bytes, little-endian), every byte of the value index & 0xff. */
function fullDiskPut(index: number): Entry {
  const key = new Uint8Array(4);
  new DataView(key.buffer).setUint32(0, index, true);
  const data = encodeProposal({ id: index, key, value: new Uint8Array(4096).fill(index & 0xff) });
  return { index, term: 1, type: EntryType.Normal, data };
}

/** The lmdb engine: batches of puts, each written back (flushed()) before the next. */
async function engineUntilFull(dir: string): Promise<void> {
  // Only flushed() writes back: the failure comes from a write-back it waits for.
  const engine = await openLmdbEngine({ dir, writeBackMs: 600_000 });
  const batch = (from: number) => Array.from({ length: 8 }, (_, k) => fullDiskPut(from + k));
  const report: FullDiskReport = { acked: 0 };
  try {
    for (let n = 0; n < 4000; n++) {
      await engine.applyEntries(batch(report.acked + 1));
      await engine.flushed();
      report.acked += 8;
    }
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    report.fault = isStorageFault(err);
    await engine.applyEntries(batch(engine.appliedIndex() + 1)).catch((again: unknown) => {
      report.errorAfter = again instanceof Error ? again.message : String(again);
    });
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
