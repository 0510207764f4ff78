// Child process of the lmdb crash test: opens the lmdb log in argv[2] and runs the seeded
// operation stream of wal-crash-workload.ts with synced appends until killed, telling the parent
// over IPC how many operations have resolved.

import { openLmdbWal } from "../storage/wal/lmdb-wal.js";
import { runCrashOps } from "./wal-crash-workload.js";

async function main(): Promise<void> {
  const [dir, seedArg] = process.argv.slice(2);
  const seed = Number(seedArg);
  if (dir === undefined || !Number.isInteger(seed) || process.send === undefined) {
    throw new Error("usage: fork lmdb-crash-writer with <dir> <seed> and an IPC channel");
  }
  const send = process.send.bind(process);
  const wal = await openLmdbWal({ dir });
  send({ ready: true });
  // The parent counts resolved operations, so report op + 1.
  await runCrashOps(wal, seed, (op) => send({ done: op + 1 }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
