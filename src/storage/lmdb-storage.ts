// Log, hard state and applied state in one lmdb environment. The entries and the hard state
// of one Ready are queued in one event-loop turn, so they land in one asynchronous lmdb
// transaction (lmdb-wal.ts says how): one durable commit per Ready instead of the two a
// split storage makes, and the event loop never waits for it.
import type { RootDatabase } from "lmdb";
import type { Logger } from "../raft/api.js";
import { isEmptySnapshot } from "../raft/types.js";
import { LmdbEngine } from "./engine/lmdb-engine.js";
import { type CommitPromise, type LmdbEnvOptions, openLmdbEnv, settle } from "./lmdb-env.js";
import { installSnapshot, type PersistRequest, type Storage, WalEngineStorage } from "./storage.js";
import { LmdbWal } from "./wal/lmdb-wal.js";

class LmdbStorage extends WalEngineStorage implements Storage {
  readonly durableHardState = true;
  readonly durableLog = true;
  readonly wal: LmdbWal;
  readonly engine: LmdbEngine;
  readonly description: string;
  private closed = false;

  constructor(
    private readonly env: RootDatabase,
    where: string,
    logger: Logger | undefined,
    private readonly syncDelayMs: number,
  ) {
    super();
    this.wal = LmdbWal.attach(env, { where, logger, ownsEnv: false, syncDelayMs });
    this.engine = LmdbEngine.attach(env, { where, ownsEnv: false });
    this.description = `lmdb storage (log and hard state in one transaction; ${this.wal.syncMode})`;
  }

  /** Resolves once the Ready's writes are visible, with `sync` once they are flushed. */
  async persist(rd: PersistRequest, sync: boolean): Promise<void> {
    if (!isEmptySnapshot(rd.snapshot)) await installSnapshot(this.wal, this.engine, rd.snapshot!);
    // Check and encode everything first: bad input throws before anything is written.
    const entries = this.wal.prepareAppend(rd.entries);
    const hard = rd.hardState;
    if (entries === undefined && hard === undefined) return;
    if (hard !== undefined) this.engine.checkWritable();
    let commit: CommitPromise | undefined;
    try {
      // Entries first: a crash between them (should lmdb split the turn) keeps a commit
      // index that points at entries already written.
      if (entries !== undefined) commit = this.wal.queueAppend(entries);
      if (hard !== undefined) commit = this.engine.queueHardState(hard);
    } catch (err) {
      this.engine.fail(err);
      throw this.wal.fail(err);
    }
    if (entries !== undefined) this.wal.applyAppend(entries);
    try {
      await settle(commit!, sync, this.env, this.syncDelayMs);
    } catch (err) {
      this.engine.fail(err);
      throw this.wal.fail(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.wal.close();
    await this.engine.close();
    await this.env.close();
  }
}

/** Opens (creating if needed) the combined lmdb storage kept in `opts.dir`. */
export async function openLmdbStorage(opts: {
  dir: string;
  logger?: Logger;
  env?: LmdbEnvOptions;
  /** Milliseconds added after each synced commit's flush (`--disk-delay`). */
  syncDelayMs?: number;
}): Promise<Storage> {
  const env = openLmdbEnv(opts.dir, opts.env);
  try {
    return new LmdbStorage(env, opts.dir, opts.logger, opts.syncDelayMs ?? 0);
  } catch (err) {
    await env.close();
    throw err;
  }
}
