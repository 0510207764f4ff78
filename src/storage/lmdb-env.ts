// One lmdb environment per data directory, shared by the lmdb WAL, the lmdb engine and the
// combined lmdb storage, so that entries and hard state can land in one transaction.
//
// Durability: the environment keeps lmdb's default on Linux, `overlappingSync`, under which
// a commit resolves once it is visible to readers and is flushed (data pages, then the meta
// page, each with fsync) afterwards. `separateFlushed` hands each write promise a second
// promise for that flush. A write that must be durable awaits both; a write that need not be
// (applied state, compaction) awaits only the commit. Measured on this machine (1 entry per
// commit): waiting for the flush ~460 us p50, `overlappingSync: false` ~440 us p50, the same
// order; this way the non-durable writes stay cheap. Nothing waits for a commit on the main
// thread: every write is one of lmdb's asynchronous ones (lmdb-wal.ts says how).
import { open, type RootDatabase } from "lmdb";
import { checkLmdbFiles } from "./lmdb-check.js";

export interface LmdbEnvOptions {
  /** Bytes of address space to map; lmdb grows it on demand when left unset. */
  mapSize?: number;
}

export function openLmdbEnv(dir: string, opts: LmdbEnvOptions = {}): RootDatabase {
  // Damaged meta pages crash lmdb instead of failing it: look at them first.
  checkLmdbFiles(dir);
  return open(lmdbOpenOptions(dir, opts));
}

/** lmdb's open options for `dir`: also what another thread opens the same environment with. */
export function lmdbOpenOptions(dir: string, opts: LmdbEnvOptions = {}) {
  return {
    path: dir,
    maxDbs: 8,
    overlappingSync: true,
    separateFlushed: true,
    noMemInit: true,
    ...(opts.mapSize === undefined ? {} : { mapSize: opts.mapSize }),
  };
}

/** What lmdb's asynchronous writes return when the environment has `separateFlushed`. */
export type CommitPromise = Promise<boolean> & { flushed?: Promise<unknown> };

/**
 * Resolves once the transaction behind `commit` is visible, and with `sync` once it is also
 * on stable storage. A failed commit rejects (the flush promise alone would never say so).
 */
export async function settle(
  commit: CommitPromise,
  sync: boolean,
  env: RootDatabase,
  /** Milliseconds added after a synced commit's flush (`--disk-delay`), on a timer. */
  syncDelayMs = 0,
): Promise<void> {
  try {
    await commit;
  } catch (err) {
    throw await commitFailure(err);
  }
  if (!sync) return;
  await (commit.flushed ?? env.flushed);
  if (syncDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, syncDelayMs));
}

/**
 * lmdb rejects a failed commit with a generic error whose `commitError` is a second,
 * rejected promise holding the cause (e.g. "File too large"). Left unobserved, that promise
 * would end the process as an unhandled rejection, so take its reason as the error.
 */
async function commitFailure(err: unknown): Promise<unknown> {
  const inner = (err as { commitError?: unknown } | null)?.commitError;
  if (inner instanceof Promise) {
    return inner.then(
      () => err,
      (cause: unknown) => cause,
    );
  }
  return err;
}
