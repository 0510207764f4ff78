// Log, hard state and applied state in one lmdb environment. The entries and the hard state
// of one Ready are written in one synchronous, durable transaction (see lmdb-wal.ts for why
// synchronous): one durable commit per Ready instead of the two a split storage makes.
import type { RootDatabase } from "lmdb";
import type { Logger } from "../raft/api.js";
import type { Entry, HardState } from "../raft/types.js";
import { isEmptySnapshot } from "../raft/types.js";
import { LmdbEngine } from "./engine/lmdb-engine.js";
import { type LmdbEnvOptions, openLmdbEnv } from "./lmdb-env.js";
import { installSnapshot, type PersistRequest, type Storage } from "./storage.js";
import { LmdbWal } from "./wal/lmdb-wal.js";

class LmdbStorage implements Storage {
  readonly durableHardState = true;
  readonly durableLog = true;
  readonly wal: LmdbWal;
  readonly engine: LmdbEngine;
  private closed = false;

  constructor(
    private readonly env: RootDatabase,
    where: string,
    logger: Logger | undefined,
  ) {
    this.wal = LmdbWal.attach(env, { where, logger, ownsEnv: false });
    this.engine = LmdbEngine.attach(env, { where, ownsEnv: false });
  }

  /** Durable whatever `sync` says: the log's writes always commit synchronously. */
  async persist(rd: PersistRequest, _sync: boolean): Promise<void> {
    if (!isEmptySnapshot(rd.snapshot)) await installSnapshot(this.wal, this.engine, rd.snapshot!);
    // Check and encode everything first: bad input throws before anything is written.
    const entries = this.wal.prepareAppend(rd.entries);
    const hard = rd.hardState;
    if (entries === undefined && hard === undefined) return;
    if (hard !== undefined) this.engine.checkWritable();
    let written: HardState | undefined;
    try {
      this.env.transactionSync(() => {
        if (entries !== undefined) this.wal.writeAppend(entries);
        if (hard !== undefined) written = this.engine.writeHardState(hard);
      });
    } catch (err) {
      this.engine.fail(err);
      throw this.wal.fail(err);
    }
    if (entries !== undefined) this.wal.applyAppend(entries);
    if (written !== undefined) this.engine.recordHardState(written);
  }

  applyEntries(entries: readonly Entry[]): Promise<void> {
    return this.engine.applyEntries(entries);
  }

  async reset(): Promise<void> {
    await this.wal.reset();
    await this.engine.clear();
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
}): Promise<Storage> {
  const env = openLmdbEnv(opts.dir, opts.env);
  try {
    return new LmdbStorage(env, opts.dir, opts.logger);
  } catch (err) {
    await env.close();
    throw err;
  }
}
