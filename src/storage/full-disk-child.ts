// Run by full-disk.test.ts under `ulimit -f` (a file size limit stands in for a full disk):
// appends synced batches of 4 KiB entries until a write fails, then prints what happened as
// one JSON line. Usage: full-disk-child <wal|storage> <dir>
import { EntryType } from "../raft/types.js";
import { openLmdbStorage } from "./lmdb-storage.js";
import { openLmdbWal } from "./wal/lmdb-wal.js";

export interface FullDiskReport {
  /** Highest index whose synced append resolved. */
  acked: number;
  /** Message of the first failed write, if one failed. */
  error?: string;
  /** Message of a write attempted after the failure, if it failed too. */
  errorAfter?: string;
}

// Without a handler, exceeding the limit kills the process; with one, write() fails (EFBIG).
process.on("SIGXFSZ", () => {});

async function main(): Promise<void> {
  const [mode, dir] = process.argv.slice(2);
  if ((mode !== "wal" && mode !== "storage") || dir === undefined) {
    throw new Error("usage: full-disk-child <wal|storage> <dir>");
  }
  const storage = mode === "storage" ? await openLmdbStorage({ dir }) : undefined;
  const wal = storage === undefined ? await openLmdbWal({ dir }) : undefined;
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
      await write(report.acked + 1, 8);
      report.acked += 8;
    }
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
    await write(report.acked + 1, 1).catch((again: unknown) => {
      report.errorAfter = again instanceof Error ? again.message : String(again);
    });
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
  // The environment may refuse to close cleanly after a failed commit; the report is out.
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
