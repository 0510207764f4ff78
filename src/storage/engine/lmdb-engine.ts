// The engine on lmdb: the applied map in one database (each key stored with a one-byte
// prefix, since lmdb refuses empty keys), hard state, conf state and the applied point in
// another. A batch of applied entries and the new applied index commit in one transaction,
// so after a crash the map and appliedIndex() always agree. Applies are not synced: losing
// the last ones in a power cut only means re-applying them from the log. Nor are they
// awaited: an apply (or a hard state that need not be durable, a commit index) is queued
// on lmdb's write thread and the call returns at once; a failed commit poisons the engine
// and the next call says so. Waiting for each queued commit to become visible cost ~2 ms
// per Ready at conc=1 (lmdb's write thread commits, then the loop hears of it), on the path
// of every proposal. Readers of the map (snapshot) wait for the queue.
import type { Database, RootDatabase } from "lmdb";
import {
  type ConfState,
  type Entry,
  emptyHardState,
  type HardState,
  type Snapshot,
} from "../../raft/types.js";
import { EngineError } from "../errors.js";
import { type CommitPromise, type LmdbEnvOptions, openLmdbEnv, settle } from "../lmdb-env.js";
import { StorageFault } from "../storage-fault.js";
import { forEachPut, unapplied } from "./apply.js";
import type { Engine } from "./engine.js";
import { decodeKvSnapshot, encodeKvSnapshot } from "./kv-snapshot.js";
import { checkSnapshotAgrees } from "./mem-engine.js";

const KEY_PREFIX = 0x6b;
/** lmdb's key size limit (511 bytes in older builds; lmdb-js allows 1978) minus the prefix. */
export const MAX_KEY_BYTES = 1977;

const META_HARD = "hard";
/** Commits an apply may leave queued before it waits for lmdb's write thread. */
const MAX_QUEUED_COMMITS = 256;
const ENGINE_COMMIT_DELAY_MS = 10;
const META_CONF = "conf";
const META_APPLIED = "applied";

interface AppliedPoint {
  index: number;
  term: number;
}

type MetaValue = HardState | ConfState | AppliedPoint;

function storedKey(key: Uint8Array): Buffer {
  if (key.byteLength > MAX_KEY_BYTES) {
    throw new RangeError(
      `key of ${key.byteLength} bytes exceeds the lmdb engine's limit of ${MAX_KEY_BYTES}: ` +
        "propose shorter keys",
    );
  }
  const b = Buffer.allocUnsafe(key.byteLength + 1);
  b[0] = KEY_PREFIX;
  b.set(key, 1);
  return b;
}

export interface LmdbEngineOptions {
  /** Label used in messages (the directory). */
  where: string;
  /** Whether close() closes the environment (false when a Storage shares it). */
  ownsEnv: boolean;
}

export class LmdbEngine implements Engine {
  readonly kind = "lmdb";

  private readonly kv: Database<Uint8Array, Buffer>;
  private readonly meta: Database<MetaValue, string>;
  private hs: HardState;
  private cs: ConfState;
  private applied: AppliedPoint;
  /** The latest queued write: readers of the map wait for it to be visible. */
  private pending: Promise<unknown> = Promise.resolve();
  /** Queued commits not yet visible. */
  private queued = 0;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly env: RootDatabase,
    private readonly opts: LmdbEngineOptions,
  ) {
    this.kv = env.openDB<Uint8Array, Buffer>({
      name: "engine-kv",
      encoding: "binary",
      keyEncoding: "binary",
    });
    this.meta = env.openDB<MetaValue, string>({ name: "engine-meta", encoding: "json" });
    this.hs = (this.meta.get(META_HARD) as HardState | undefined) ?? emptyHardState();
    this.cs = (this.meta.get(META_CONF) as ConfState | undefined) ?? { voters: [], learners: [] };
    this.applied = (this.meta.get(META_APPLIED) as AppliedPoint | undefined) ?? {
      index: 0,
      term: 0,
    };
  }

  static attach(env: RootDatabase, opts: LmdbEngineOptions): LmdbEngine {
    return new LmdbEngine(env, opts);
  }

  hardState(): HardState {
    return { ...this.hs };
  }

  /** With `sync`, resolves once the hard state is flushed; otherwise at once. */
  async setHardState(hs: HardState, opts: { sync: boolean }): Promise<void> {
    const commit = this.queueHardState(hs);
    if (opts.sync) await this.settle(commit, true);
  }

  /**
   * Queues the hard state's write (the combined storage queues it in the same event-loop
   * turn as the log's entries, so both land in one transaction) and records it in memory.
   */
  queueHardState(hs: HardState): CommitPromise {
    return this.stageHardState(hs);
  }

  /** Marks the engine failed (a shared transaction that held its writes failed). */
  fail(err: unknown): Error {
    return this.poison(err);
  }

  private stageHardState(hs: HardState): CommitPromise {
    this.checkWritable();
    const copy = { term: hs.term, vote: hs.vote, commit: hs.commit };
    const commit = this.write(() => this.meta.put(META_HARD, copy));
    this.hs = copy;
    return commit;
  }

  confState(): ConfState {
    return { voters: [...this.cs.voters], learners: [...this.cs.learners] };
  }

  async setConfState(cs: ConfState): Promise<void> {
    this.checkWritable();
    const copy = { voters: [...cs.voters], learners: [...cs.learners] };
    const commit = this.write(() => this.meta.put(META_CONF, copy));
    this.cs = copy;
    await this.settle(commit, true);
  }

  async applyEntries(entries: readonly Entry[]): Promise<void> {
    this.checkWritable();
    const fresh = unapplied(entries, this.applied.index);
    if (fresh.length === 0) return;
    // Decode and check every key before writing: a bad batch writes nothing.
    const puts: [Buffer, Uint8Array][] = [];
    forEachPut(fresh, (k, v) => puts.push([storedKey(k), v]));
    const last = fresh[fresh.length - 1]!;
    const point = { index: last.index, term: last.term };
    this.write(() => {
      for (const [k, v] of puts) this.kv.put(k, v);
      return this.meta.put(META_APPLIED, point);
    });
    this.applied = point;
    // Bounded: when lmdb's write thread falls far behind, wait for it.
    if (this.queued > MAX_QUEUED_COMMITS) await this.pending;
  }

  appliedIndex(): number {
    return this.applied.index;
  }

  private lastCommit: CommitPromise | undefined;

  async snapshot(): Promise<Snapshot> {
    this.checkWritable();
    await this.pending;
    const pairs: [Uint8Array, Uint8Array][] = [];
    for (const { key, value } of this.kv.getRange()) pairs.push([key.subarray(1), value]);
    const meta = {
      index: this.applied.index,
      term: this.applied.term,
      confState: this.confState(),
    };
    return { data: encodeKvSnapshot({ ...meta, pairs }), metadata: meta };
  }

  async restore(snapshot: Snapshot): Promise<void> {
    this.checkWritable();
    const s = decodeKvSnapshot(snapshot.data);
    checkSnapshotAgrees(s, snapshot);
    const puts = s.pairs.map(([k, v]): [Buffer, Uint8Array] => [storedKey(k), v]);
    const point = { index: snapshot.metadata.index, term: snapshot.metadata.term };
    const cs = {
      voters: [...snapshot.metadata.confState.voters],
      learners: [...snapshot.metadata.confState.learners],
    };
    const commit = this.write(() => {
      this.kv.clearAsync();
      for (const [k, v] of puts) this.kv.put(k, v);
      this.meta.put(META_CONF, cs);
      return this.meta.put(META_APPLIED, point);
    });
    this.applied = point;
    this.cs = cs;
    await this.settle(commit, true);
  }

  async clear(): Promise<void> {
    this.checkWritable();
    const commit = this.write(() => {
      this.kv.clearAsync();
      return this.meta.clearAsync();
    });
    this.hs = emptyHardState();
    this.cs = { voters: [], learners: [] };
    this.applied = { index: 0, term: 0 };
    await this.settle(commit, true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pending.catch(() => {});
    if (this.opts.ownsEnv) await this.env.close();
  }

  /**
   * Queues writes; lmdb failing to even queue them (a closed store) poisons the engine, and
   * so does a commit that fails later, whether or not anyone awaits it.
   */
  private write(queue: () => CommitPromise | Promise<void>): CommitPromise {
    let commit: CommitPromise;
    try {
      commit = queue() as CommitPromise;
    } catch (err) {
      throw this.poison(err);
    }
    this.queued++;
    this.pending = settle(commit, false, this.env).then(
      () => {
        this.queued--;
      },
      (err: unknown) => {
        this.queued--;
        this.poison(err);
      },
    );
    this.lastCommit = commit;
    return commit;
  }

  /** Resolves once the last queued write (and so every earlier one) is on stable storage. */
  async flushed(): Promise<void> {
    const commit = this.lastCommit;
    if (commit !== undefined) await this.settle(commit, true);
  }

  private async settle(commit: CommitPromise, sync: boolean): Promise<void> {
    try {
      await settle(commit, sync, this.env);
    } catch (err) {
      throw this.poison(err);
    }
  }

  private poison(err: unknown): Error {
    if (this.failure === undefined) {
      const reason = err instanceof Error ? err.message : String(err);
      this.failure = new StorageFault(
        "io-failed",
        `lmdb engine in ${this.opts.where}: write failed (${reason}); its state can no ` +
          "longer be trusted: stop the node, free disk space or fix the directory, then restart",
        { cause: err },
      );
    }
    return this.failure;
  }

  /** Throws the engine's failure, or if it is closed. */
  checkWritable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new EngineError("closed", "engine: closed");
  }
}

/** Opens (creating if needed) the lmdb engine kept in `dir`. */
export async function openLmdbEngine(opts: { dir: string; env?: LmdbEnvOptions }): Promise<Engine> {
  // Beside a separate WAL nothing waits for the engine's commits but a term/vote change
  // (rare), so lmdb may gather them: one transaction, and one flush, per ~10 ms instead of
  // one per Ready, each of which competed with the WAL's fdatasync for the disk.
  const env = openLmdbEnv(opts.dir, { commitDelayMs: ENGINE_COMMIT_DELAY_MS, ...opts.env });
  return LmdbEngine.attach(env, { where: opts.dir, ownsEnv: true });
}
