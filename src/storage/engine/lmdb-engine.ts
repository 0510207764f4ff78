// The engine on lmdb: the applied state lives in memory, exactly as the mem engine keeps it
// (applied-state.ts), and is written back to lmdb in the background; hard state and conf
// state are written to lmdb as they come.
//
// Why in memory: every lmdb transaction copies and writes every leaf page it dirtied, and
// with uniform keys each put dirties a 4 KiB page of its own, so writing each Ready's applies
// as they came cost ~45 µs of CPU per SET on the leader and ~75 µs on each follower more
// than the mem engine (docs/results.md). Applies need no durability of their own: the log
// holds every entry after the applied point lmdb stores, and log compaction waits for
// flushed() before it drops any. So an apply changes memory only and records which keys it
// changed (write-back.ts); one lmdb transaction writes the changed keys' current values with
// the applied point they bring lmdb to, WRITE_BACK_MS after the first change, when log
// compaction asks for one (flushedThrough(i, { start }): the log has grown as long as the
// compactor lets it, DURABLE_LAG_INTERVALS compaction intervals), and on flushed() and
// close(). The write-back exists only so that the log can be compacted and a restart need
// not replay it all, so the log's need decides when, not how many keys changed: a
// write-back of a uniformly written 100,000-key state costs ~0.3-0.4 s of CPU and ~30-45 MB
// written however many puts it covers (docs/decisions.md, "lmdb write-backs when the log
// needs them"). A key changed many times between write-backs is written once. A write-back
// is never awaited by an apply; at most one is in flight, and the next gathers meanwhile.
//
// How it reaches lmdb: an engine with the environment to itself (openLmdbEngine, beside a
// file or mem WAL) writes through its write-back thread (write-back-thread.ts): the changed
// keys are packed SLICE_KEYS per event-loop turn and handed over, and the thread writes the
// whole write-back in one transaction, so no turn does lmdb's per-key work (queueing 65,536
// puts in one turn stalled the loop for ~100-250 ms). When at least REWRITE_FRACTION of the
// strings changed (and the state holds only short-keyed strings), every string is sent and
// the thread refills the database in key order with lmdb's append: fewer, full pages
// (29.5 against 43.3 MB written for 100,000 keys) at no more CPU. Every other write of such an engine
// (hard state, conf state, restore, clear) goes through the same thread, in order. An engine
// sharing the environment with the lmdb WAL (lmdb-storage.ts) queues a write-back in one
// turn instead (lmdb-js puts one turn's writes in one transaction): the thread would hold
// lmdb's write lock for a whole write-back, and the log's commits would wait for it.
//
// After a crash, lmdb holds the state of the last write-back that committed, at the applied
// point committed with it: an older state than memory had, never a mix (the log replays the
// rest at restart). Nothing acknowledged is lost. durableAppliedIndex() is that point, as
// of the last write-back flushed; flushedThrough(i) waits for it to reach i (starting a
// write-back only when asked to), and log compaction drops nothing past it. Reads, snapshots and member
// metadata come from memory, so a snapshot is the state at appliedIndex() by construction.
// Memory is the mem engine's: the whole state. A failed lmdb write poisons the engine: every later call
// throws the failure.
//
// Hard state: a term/vote change (sync) is written and flushed before setHardState resolves;
// a commit-only one (not synced) rides with the next write-back. The combined lmdb storage
// (lmdb-storage.ts) queues its hard state itself, in the log's transaction (queueHardState).
import type { Database, RootDatabase } from "lmdb";
import type { KvReadView, MemberAddresses } from "../../proposal/kv.js";
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
import {
  type AppliedPoint,
  AppliedState,
  checkSnapshotAgrees,
  stateFromSnapshot,
} from "./applied-state.js";
import type { ApplyListener, Engine } from "./engine.js";
import { decodeKvSnapshot } from "./kv-snapshot.js";
import {
  checkKeyLength,
  type ListHeader,
  loadKeySpace,
  MAX_KEY_BYTES,
  type MemberList,
  queueWholeSpace,
} from "./lmdb-layout.js";
import { MemKeySpace } from "./mem-keyspace.js";
import { WriteBack } from "./write-back.js";
import { type MetaWrites, WriteBackThread, WriteChunk } from "./write-back-thread.js";

export { MAX_KEY_BYTES };

/**
 * Milliseconds from a change to its write-back when compaction does not ask for one sooner:
 * at rates below ~17,000 entries/s this bounds the replay after a crash (docs/decisions.md).
 */
export const WRITE_BACK_MS = 30_000;
/** Changed strings a write-back on its thread packs per event-loop turn. */
export const SLICE_KEYS = 2048;
/**
 * The share of the strings that must have changed for a write-back on its thread to rewrite
 * them all. At ~99 % changed of 100,000 keys a rewrite cost the same CPU as the per-key path
 * and wrote 32 % fewer bytes; a rewrite also writes the unchanged strings, so below about
 * half changed the per-key path writes less (a judgement, not measured at lower shares).
 */
export const REWRITE_FRACTION = 0.5;

const KV_DB = "engine-kv";
const META_DB = "engine-meta";

const META_HARD = "hard";
const META_CONF = "conf";
const META_APPLIED = "applied";
const META_MEMBERS = "members";

type MetaValue = HardState | ConfState | AppliedPoint | MemberList;

interface DurableWaiter {
  index: number;
  resolve(): void;
  reject(err: Error): void;
}

export interface LmdbEngineOptions {
  /** Label used in messages (the directory). */
  where: string;
  /** Whether close() closes the environment (false when a Storage shares it). */
  ownsEnv: boolean;
  /** Milliseconds between write-backs (default WRITE_BACK_MS). */
  writeBackMs?: number;
  /**
   * Write through a write-back thread with its own handle on the environment (only when the
   * engine has the environment to itself: that thread holds lmdb's write lock for a whole
   * write-back, which a log sharing the environment would wait for).
   */
  thread?: { dir: string; env?: LmdbEnvOptions };
  /** Changed strings packed per turn on the write-back thread's path (default SLICE_KEYS). */
  sliceKeys?: number;
  /** The share of changed strings that makes a threaded write-back a rewrite (REWRITE_FRACTION). */
  rewriteFraction?: number;
}

export class LmdbEngine implements Engine {
  readonly kind = "lmdb";
  readonly maxKeyBytes = MAX_KEY_BYTES;

  private readonly kv: Database<Uint8Array, Buffer>;
  private readonly meta: Database<MetaValue, string>;
  private readonly state = new AppliedState({ checkKey: checkKeyLength });
  private readonly changes: WriteBack;
  private hs: HardState;
  private cs: ConfState;
  /** A commit-only hard state not yet queued: it rides with the next write-back. */
  private pendingHs: HardState | undefined;
  /** Counts changes (applies, unsynced hard states) not yet queued to lmdb... */
  private changeCount = 0;
  /** ...and how many of them lmdb has been handed. */
  private queuedCount = 0;
  /** The write-back queued and not yet committed (at most one). */
  private inFlight: Promise<void> | undefined;
  /** The last write queued to lmdb, of any kind: flushed() waits for its flush. */
  private lastCommit: CommitPromise | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private failure: Error | undefined;
  private closed = false;
  private readonly writeBackMs: number;
  private readonly sliceKeys: number;
  private readonly rewriteFraction: number;
  /** The write-back thread, once the first write needed it (with `opts.thread`). */
  private writer: WriteBackThread | undefined;
  /** The last write handed to the write-back thread, settled: flushed() waits for it. */
  private lastThreadWrite: Promise<void> | undefined;
  /**
   * The applied index lmdb holds on stable storage: a restart starts from it, so the log
   * must keep every entry after it (flushedThrough() is how compaction learns of it).
   */
  private durableApplied: number;
  /** flushedThrough() calls waiting for durableApplied to reach their index. */
  private durableWaiters: DurableWaiter[] = [];
  /** The applied index the last write-back queued brings lmdb to, once it commits. */
  private queuedApplied: number;
  /** The highest index a flushedThrough(.., { start }) asked for: a write-back is due for it. */
  private startWanted = 0;

  private constructor(
    private readonly env: RootDatabase,
    private readonly opts: LmdbEngineOptions,
  ) {
    this.kv = env.openDB<Uint8Array, Buffer>({
      name: KV_DB,
      encoding: "binary",
      keyEncoding: "binary",
    });
    this.meta = env.openDB<MetaValue, string>({ name: META_DB, encoding: "json" });
    this.hs = (this.meta.get(META_HARD) as HardState | undefined) ?? emptyHardState();
    this.cs = (this.meta.get(META_CONF) as ConfState | undefined) ?? { voters: [], learners: [] };
    const point = (this.meta.get(META_APPLIED) as AppliedPoint | undefined) ?? {
      index: 0,
      term: 0,
    };
    const members = new Map((this.meta.get(META_MEMBERS) as MemberList | undefined) ?? []);
    const { space, lists } = loadKeySpace(this.kv);
    this.changes = new WriteBack(lists);
    this.state.observe(this.changes);
    this.state.replace(space, members, point);
    this.durableApplied = point.index;
    this.queuedApplied = point.index;
    this.writeBackMs = opts.writeBackMs ?? WRITE_BACK_MS;
    this.sliceKeys = opts.sliceKeys ?? SLICE_KEYS;
    this.rewriteFraction = opts.rewriteFraction ?? REWRITE_FRACTION;
  }

  /** The engine over `env`, its state read into memory. */
  static attach(env: RootDatabase, opts: LmdbEngineOptions): LmdbEngine {
    return new LmdbEngine(env, opts);
  }

  hardState(): HardState {
    return { ...this.hs };
  }

  /** With `sync`, resolves once the hard state is flushed; otherwise at once. */
  async setHardState(hs: HardState, opts: { sync: boolean }): Promise<void> {
    this.checkWritable();
    if (!opts.sync) {
      const copy = { term: hs.term, vote: hs.vote, commit: hs.commit };
      this.hs = copy;
      this.pendingHs = copy;
      this.changed();
      return;
    }
    if (this.opts.thread !== undefined) {
      const copy = { term: hs.term, vote: hs.vote, commit: hs.commit };
      this.pendingHs = undefined;
      this.hs = copy;
      await this.threadWrite((t) => t.writeMeta([[META_HARD, copy]]));
      return;
    }
    await this.settle(this.queueHardState(hs), true);
  }

  /**
   * Queues the hard state's write at once (the combined storage queues it in the same
   * event-loop turn as the log's entries, so both land in one transaction) and records it.
   */
  queueHardState(hs: HardState): CommitPromise {
    this.checkWritable();
    if (this.opts.thread !== undefined) {
      // A caller's mistake: only an engine sharing the log's environment shares its commits.
      throw new Error("lmdb engine: queueHardState() on an engine with a write-back thread");
    }
    const copy = { term: hs.term, vote: hs.vote, commit: hs.commit };
    // A newer hard state than any gathered one: that one need not be written.
    this.pendingHs = undefined;
    const commit = this.queueWrite(() => this.meta.put(META_HARD, copy));
    this.hs = copy;
    return commit;
  }

  /** Marks the engine failed (a shared transaction that held its writes failed). */
  fail(err: unknown): Error {
    return this.poison(err);
  }

  confState(): ConfState {
    return { voters: [...this.cs.voters], learners: [...this.cs.learners] };
  }

  async setConfState(cs: ConfState): Promise<void> {
    this.checkWritable();
    const copy = { voters: [...cs.voters], learners: [...cs.learners] };
    if (this.opts.thread !== undefined) {
      this.cs = copy;
      await this.threadWrite((t) => t.writeMeta([[META_CONF, copy]]));
      return;
    }
    const commit = this.queueWrite(() => this.meta.put(META_CONF, copy));
    this.cs = copy;
    await this.settle(commit, true);
  }

  setApplyListener(listener: ApplyListener | undefined): void {
    this.state.setListener(listener);
  }

  readView(): KvReadView {
    return this.state.view;
  }

  memberAddresses(): ReadonlyMap<number, MemberAddresses> {
    return this.state.members;
  }

  /** Applies to memory; lmdb hears of it at the next write-back. */
  async applyEntries(entries: readonly Entry[]): Promise<void> {
    this.checkWritable();
    const before = this.state.applied.index;
    this.state.apply(entries);
    if (this.state.applied.index !== before) this.changed();
  }

  appliedIndex(): number {
    return this.state.applied.index;
  }

  /** The state in memory, at the applied point. */
  async snapshot(): Promise<Snapshot> {
    this.checkWritable();
    return this.state.snapshot(this.confState());
  }

  async restore(snapshot: Snapshot): Promise<void> {
    this.checkWritable();
    const s = decodeKvSnapshot(snapshot.data);
    checkSnapshotAgrees(s, snapshot);
    const { space, members } = stateFromSnapshot(s);
    const point = { index: snapshot.metadata.index, term: snapshot.metadata.term };
    const cs = {
      voters: [...snapshot.metadata.confState.voters],
      learners: [...snapshot.metadata.confState.learners],
    };
    if (this.opts.thread !== undefined) {
      // After the write-back in flight, whose keys the snapshot replaces.
      await this.writeBackIdle();
      const chunk = new WriteChunk();
      const lists = queueWholeSpace(chunk, space);
      const meta: MetaWrites = [
        [META_CONF, cs],
        [META_MEMBERS, [...members]],
        [META_APPLIED, point],
      ];
      const written = this.threadWrite((t) => t.commit(chunk, meta, "kv"));
      this.replace(lists, space, members, point, cs);
      this.queuedApplied = point.index;
      await written;
      this.setDurable(point.index);
      return;
    }
    // Queued after any write-back in flight, so lmdb ends with the snapshot's state.
    let lists = new Map<string, { head: number; length: number }>();
    const commit = this.queueWrite(() => {
      this.kv.clearAsync();
      lists = queueWholeSpace(this.kv, space);
      this.meta.put(META_CONF, cs);
      this.meta.put(META_MEMBERS, [...members]);
      return this.meta.put(META_APPLIED, point);
    });
    this.replace(lists, space, members, point, cs);
    this.queuedApplied = point.index;
    await this.settle(commit, true);
    this.setDurable(point.index);
  }

  async clear(): Promise<void> {
    this.checkWritable();
    let written: Promise<void> | undefined;
    let commit: CommitPromise | undefined;
    if (this.opts.thread !== undefined) {
      await this.writeBackIdle();
      written = this.threadWrite((t) => t.commit(new WriteChunk(0), [], "all"));
    } else {
      commit = this.queueWrite(() => {
        this.kv.clearAsync();
        return this.meta.clearAsync();
      });
    }
    this.hs = emptyHardState();
    this.pendingHs = undefined;
    this.replace(
      new Map(),
      new MemKeySpace(),
      new Map(),
      { index: 0, term: 0 },
      {
        voters: [],
        learners: [],
      },
    );
    if (written !== undefined) await written;
    if (commit !== undefined) await this.settle(commit, true);
    // The state any waiter asked about is gone, and so is the log it would compact.
    this.durableApplied = 0;
    this.queuedApplied = 0;
    this.startWanted = 0;
    this.resolveDurableWaiters(Number.POSITIVE_INFINITY);
  }

  /** Memory now holds `space`, just stored whole: nothing changed remains to write back. */
  private replace(
    lists: Map<string, ListHeader>,
    space: MemKeySpace,
    members: Map<number, MemberAddresses>,
    point: AppliedPoint,
    cs: ConfState,
  ): void {
    this.changes.reset(lists);
    this.state.replace(space, members, point);
    this.cs = cs;
    if (this.pendingHs === undefined) this.queuedCount = this.changeCount;
  }

  /** Writes back what is left, then closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.stopTimer();
    if (this.failure === undefined) {
      try {
        await this.writeBackAll();
      } catch {
        // Poisoned: what memory held is lost with the rest; the log still holds it.
      }
    }
    this.closed = true;
    this.rejectDurableWaiters(new EngineError("closed", "engine: closed"));
    this.state.release();
    // Every queued write commits (or fails) before the environment may close.
    if (this.lastCommit !== undefined)
      await settle(this.lastCommit, false, this.env).catch(() => {});
    await this.lastThreadWrite;
    await this.writer?.close();
    if (this.opts.ownsEnv) await this.env.close();
  }

  /**
   * Resolves once everything applied (and every hard state set) before the call is
   * committed and flushed: the write-back in flight is waited for, then one is made of
   * whatever it did not hold.
   */
  async flushed(): Promise<void> {
    await this.writeBackAll();
    const commit = this.lastCommit;
    if (commit !== undefined) await this.settle(commit, true);
    // The write-back thread's transactions are flushed when they commit.
    await this.lastThreadWrite;
    if (this.failure !== undefined) throw this.failure;
  }

  /** The applied index lmdb holds on stable storage (a restart starts from it). */
  durableAppliedIndex(): number {
    return this.durableApplied;
  }

  /**
   * Resolves once lmdb holds the applied state through `index` on stable storage. Without
   * `start` it does not hasten a write-back: the timer's next one answers it. With `start`
   * (the log since the durable point has grown too long), a write-back starts now, or as
   * soon as the one in flight ends if that one does not reach `index`.
   */
  flushedThrough(index: number, opts?: { start?: boolean }): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new EngineError("closed", "engine: closed"));
    if (index <= this.durableApplied) return Promise.resolve();
    const waiting = new Promise<void>((resolve, reject) =>
      this.durableWaiters.push({ index, resolve, reject }),
    );
    if (opts?.start === true && index > this.queuedApplied) {
      this.startWanted = Math.max(this.startWanted, index);
      if (this.inFlight === undefined) this.schedule(0);
    }
    return waiting;
  }

  /** Whether a flushedThrough(.., { start }) waits for a write-back not yet queued. */
  private startDue(): boolean {
    return this.startWanted > this.queuedApplied;
  }

  /** lmdb now holds the applied state through `index` on stable storage. */
  private setDurable(index: number): void {
    this.durableApplied = index;
    this.resolveDurableWaiters(index);
  }

  private resolveDurableWaiters(upTo: number): void {
    if (this.durableWaiters.length === 0) return;
    const still: DurableWaiter[] = [];
    for (const w of this.durableWaiters) {
      if (w.index <= upTo) w.resolve();
      else still.push(w);
    }
    this.durableWaiters = still;
  }

  private rejectDurableWaiters(err: Error): void {
    const waiters = this.durableWaiters;
    this.durableWaiters = [];
    for (const w of waiters) w.reject(err);
  }

  /** Until no write-back is in flight. */
  private async writeBackIdle(): Promise<void> {
    while (this.inFlight !== undefined) await this.inFlight;
    this.checkWritable();
  }

  /** Until every change made before the call is queued to lmdb. */
  private async writeBackAll(): Promise<void> {
    const target = this.changeCount;
    while (this.queuedCount < target) {
      if (this.failure !== undefined) throw this.failure;
      if (this.inFlight !== undefined) {
        await this.inFlight;
        continue;
      }
      this.writeBack();
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /** Something changed that lmdb does not hold yet: a write-back is due. */
  private changed(): void {
    this.changeCount++;
    if (this.inFlight !== undefined) return; // its end schedules the next
    this.schedule(this.startDue() ? 0 : this.writeBackMs);
  }

  private schedule(ms: number): void {
    if (this.timer !== undefined) {
      if (ms > 0) return;
      this.stopTimer();
    }
    // In a turn of its own even when due at once: an apply never pays for queueing it.
    this.timer = setTimeout(() => {
      this.timer = undefined;
      try {
        this.writeBack();
      } catch {
        // Poisoned: the engine's next call reports the failure.
      }
    }, ms);
    this.timer.unref();
  }

  private stopTimer(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Queues one transaction, in this turn: every changed key's value as memory holds it, the
   * members if they changed, a gathered hard state, and the applied point they bring lmdb to.
   */
  private writeBack(): void {
    if (this.failure !== undefined || this.closed || this.inFlight !== undefined) return;
    if (this.queuedCount === this.changeCount) return;
    this.stopTimer();
    if (this.opts.thread !== undefined) {
      this.track(this.writeBackInSlices());
      return;
    }
    const point = this.state.applied;
    const hs = this.pendingHs;
    const members = this.state.members;
    const upTo = this.changeCount;
    const commit = this.queueWrite(() => {
      const { membersChanged } = this.changes.finish(this.kv, this.state.space);
      if (membersChanged) this.meta.put(META_MEMBERS, [...members]);
      if (hs !== undefined) this.meta.put(META_HARD, hs);
      return this.meta.put(META_APPLIED, point);
    });
    this.pendingHs = undefined;
    this.queuedCount = upTo;
    this.queuedApplied = point.index;
    this.track(settle(commit, false, this.env));
    // A failed flush poisons the engine (queueWrite), which rejects the waiters.
    settle(commit, true, this.env).then(
      () => this.setDurable(point.index),
      () => {},
    );
  }

  /** `done` is the write-back in flight; when it ends, the next is due or the engine failed. */
  private track(done: Promise<void>): void {
    this.inFlight = done.then(
      () => {
        this.inFlight = undefined;
        this.afterWriteBack();
      },
      (err: unknown) => {
        this.inFlight = undefined;
        this.poison(err);
      },
    );
  }

  /**
   * A write-back through the write-back thread: the changed strings are packed and sent
   * SLICE_KEYS at a time, one slice per event-loop turn, so that no turn packs more; a
   * string changed after it was sent is sent again. Once what is left fits one slice, the
   * last turn sends it with every changed list, the members if they changed, a gathered
   * hard state and the applied point, all taken in that turn: the transaction holds the
   * state memory held then, as in one turn. If applies outrun the slices, the last turn
   * takes what is left after twice the slices the write-back started with.
   */
  private async writeBackInSlices(): Promise<void> {
    const writer = this.writerNow();
    const rewrite = this.rewriteDue();
    if (rewrite) {
      // Every string, SLICE_KEYS per turn; what changes meanwhile is changed again.
      this.changes.forgetStrings();
      const all = this.state.space.strings.numbered();
      for (;;) {
        const chunk = new WriteChunk(this.sliceKeys * 320);
        const done = this.changes.writeNumbered(chunk, all, this.sliceKeys);
        writer.send(chunk);
        if (done) break;
        await new Promise((resolve) => setImmediate(resolve));
        if (this.failure !== undefined) throw this.failure;
      }
    }
    let slices = 2 * Math.ceil(this.changes.stringsPending / this.sliceKeys);
    while (this.changes.stringsPending > this.sliceKeys && slices-- > 0) {
      const chunk = new WriteChunk(this.sliceKeys * 320);
      this.changes.writeStrings(chunk, this.state.space.strings, this.sliceKeys);
      writer.send(chunk);
      await new Promise((resolve) => setImmediate(resolve));
      if (this.failure !== undefined) throw this.failure;
    }
    const last = new WriteChunk();
    const { membersChanged } = this.changes.finish(last, this.state.space);
    const meta: MetaWrites = [];
    if (membersChanged) meta.push([META_MEMBERS, [...this.state.members]]);
    if (this.pendingHs !== undefined) meta.push([META_HARD, this.pendingHs]);
    const point = this.state.applied;
    meta.push([META_APPLIED, point]);
    this.pendingHs = undefined;
    this.queuedCount = this.changeCount;
    this.queuedApplied = point.index;
    await this.threadWrite(() => writer.commit(last, meta, rewrite ? "rewrite" : undefined));
    this.setDurable(point.index);
  }

  /**
   * Whether this write-back rewrites every string instead of the changed ones: when at
   * least REWRITE_FRACTION of them changed and the state has only short-keyed strings (the
   * thread refills lmdb in key order, write-back-thread.ts).
   */
  private rewriteDue(): boolean {
    const strings = this.state.space.strings;
    if (this.changes.listsInvolved || strings.longSize > 0 || this.state.space.lists.size > 0) {
      return false;
    }
    return this.changes.stringsPending >= this.rewriteFraction * strings.size;
  }

  private writerNow(): WriteBackThread {
    if (this.writer === undefined) {
      const thread = this.opts.thread!;
      this.writer = new WriteBackThread({
        dir: thread.dir,
        ...(thread.env === undefined ? {} : { env: thread.env }),
        kvName: KV_DB,
        metaName: META_DB,
      });
    }
    return this.writer;
  }

  /** Hands a write to the write-back thread; its failure poisons the engine. */
  private threadWrite(write: (writer: WriteBackThread) => Promise<void>): Promise<void> {
    const written = write(this.writerNow()).catch((err: unknown) => {
      throw this.poison(err);
    });
    this.lastThreadWrite = written.catch(() => {});
    return written;
  }

  /** The write-back committed: what changed meanwhile is due now or at the timer. */
  private afterWriteBack(): void {
    if (this.closed || this.failure !== undefined || this.queuedCount === this.changeCount) return;
    this.schedule(this.startDue() ? 0 : this.writeBackMs);
  }

  /**
   * Queues writes; lmdb failing to even queue them (a closed store) poisons the engine, and
   * so does a commit that fails later, whether or not anyone awaits it.
   */
  private queueWrite(queue: () => CommitPromise | Promise<void>): CommitPromise {
    let commit: CommitPromise;
    try {
      commit = queue() as CommitPromise;
    } catch (err) {
      throw this.poison(err);
    }
    settle(commit, false, this.env).catch((err: unknown) => this.poison(err));
    this.lastCommit = commit;
    return commit;
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
      this.stopTimer();
      this.rejectDurableWaiters(this.failure);
    }
    return this.failure;
  }

  /** Throws the engine's failure, or if it is closed. */
  checkWritable(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new EngineError("closed", "engine: closed");
  }
}

/** Opens (creating if needed) the lmdb engine kept in `dir`, its state read into memory. */
export async function openLmdbEngine(opts: {
  dir: string;
  env?: LmdbEnvOptions;
  writeBackMs?: number;
  sliceKeys?: number;
  rewriteFraction?: number;
}): Promise<LmdbEngine> {
  const env = openLmdbEnv(opts.dir, opts.env);
  try {
    return LmdbEngine.attach(env, {
      where: opts.dir,
      ownsEnv: true,
      thread: { dir: opts.dir, ...(opts.env === undefined ? {} : { env: opts.env }) },
      ...(opts.writeBackMs === undefined ? {} : { writeBackMs: opts.writeBackMs }),
      ...(opts.sliceKeys === undefined ? {} : { sliceKeys: opts.sliceKeys }),
      ...(opts.rewriteFraction === undefined ? {} : { rewriteFraction: opts.rewriteFraction }),
    });
  } catch (err) {
    await env.close();
    throw err;
  }
}
