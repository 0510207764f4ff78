// Child process of the crash test: opens the file log in argv[2] and applies the seeded
// operation stream (wal-crash-workload.ts) with synced appends until it is killed, reporting
// over IPC each operation that has resolved; argv[4] is how many may be in flight at once.
import { silentLogger } from "../raft/api.js";
import { FileWal } from "../storage/wal/file-wal.js";
import { runCrashOps } from "./wal-crash-workload.js";

export const CRASH_SEGMENT_BYTES = 16 * 1024;

async function main(): Promise<void> {
  const [dir, seedArg, windowArg] = process.argv.slice(2);
  const seed = Number(seedArg);
  const window = Number(windowArg ?? 1);
  if (
    dir === undefined ||
    !Number.isInteger(seed) ||
    !Number.isInteger(window) ||
    window < 1 ||
    process.send === undefined
  ) {
    throw new Error("usage: fork crash-writer with <dir> <seed> [window] and an IPC channel");
  }
  const send = process.send.bind(process);
  send({ opening: true });
  const wal = await FileWal.open({ dir, segmentBytes: CRASH_SEGMENT_BYTES, logger: silentLogger });
  send({ ready: true });
  await runCrashOps(wal, seed, (op) => send({ done: op }), window);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
