// The engine on lmdb: the applied key space in one database (lmdb-keyspace.ts: strings,
// lists, each key stored with a one-byte prefix, since lmdb refuses empty keys), hard state,
// conf state, member metadata and the applied point in another. A batch of applied entries and the new applied index commit in one transaction,
// so after a crash the map and appliedIndex() always agree. Applies are not synced: losing
// the last ones in a power cut only means re-applying them from the log. Nor are they
// awaited: an apply (or a hard state that need not be durable, a commit index) is queued
// on lmdb's write thread and the call returns at once; a failed commit poisons the engine
// and the next call says so. Waiting for each queued commit to become visible cost ~2 ms
// per Ready at conc=1 (lmdb's write thread commits, then the loop hears of it), on the path
// of every proposal. Commands' writes are read back through an overlay until visible
// (lmdb-keyspace.ts); a snapshot reads what lmdb has committed, at the applied point
// committed with it.
//
// Gathering (beside a separate WAL): every lmdb transaction costs its commit and the write
// and flush of every page it dirtied, ~0.4–1 ms of CPU (mostly the kernel's) on this machine
// whatever it holds (`npm run bench:wal -- --wal none --engine lmdb`), and an apply or a
// commit-only hard state queued alone starts a transaction of its own whenever lmdb's write
// thread is idle (lmdb-js commits each event-loop turn's writes together, and what arrives
// while it is busy; its commitDelay has no effect then). So writes that nobody waits for
// (plain-put applies with their applied point, commit-only hard states) are gathered for up
// to `gatherMs` and queued together in one turn: one transaction per window instead of up
// to two per Ready. Any other write (a term/vote change, membership, commands, snapshot,
// restore, clear, flush) queues the gathered ones first, so lmdb sees the same writes in the
// same order, only fewer transactions: after a crash the engine holds a state it held before,
// an older one than without gathering (the log replays the rest, as it does today).
import type { Database, RootDatabase } from "lmdb";
import { entryKind } from "../../proposal/command.js";
import type {
  KvReadView,
  KvResult,
  KvWrite,
  MemberAddresses,
  StateCommand,
} from "../../proposal/kv.js";
import {
  type ConfState,
  type Entry,
  EntryType,
  emptyHardState,
  type HardState,
  type Snapshot,
} from "../../raft/types.js";
import { EngineError } from "../errors.js";
import { type CommitPromise, type LmdbEnvOptions, openLmdbEnv, settle } from "../lmdb-env.js";
import { StorageFault } from "../storage-fault.js";
import { decodeEntryCommand, forEachPut, startsWith, unapplied } from "./apply.js";
import type { ApplyListener, Engine } from "./engine.js";
import { globMatch, literalPrefix } from "./glob.js";
import { applyKvWrite, OK } from "./kv-apply.js";
import { decodeKvSnapshot, encodeKvSnapshot } from "./kv-snapshot.js";
import {
  LIST_PREFIX,
  LmdbKeySpace,
  MAX_KEY_BYTES,
  STRING_PREFIX,
  storedKey,
} from "./lmdb-keyspace.js";
import { checkSnapshotAgrees } from "./mem-engine.js";

export { MAX_KEY_BYTES };

const META_HARD = "hard";
/** Commits an apply may leave queued before it waits for lmdb's write thread. */
const MAX_QUEUED_COMMITS = 256;
/** How long a standalone engine gathers unsynced writes before queueing them together. */
const ENGINE_GATHER_MS = 10;
/** Puts gathered at most before they are queued at once, whatever the time. */
const MAX_GATHERED_PUTS = 65_536;
const META_CONF = "conf";
const META_APPLIED = "applied";
const META_MEMBERS = "members";

interface AppliedPoint {
  index: number;
  term: number;
}

type MemberList = [id: number, addresses: MemberAddresses][];
type MetaValue = HardState | ConfState | AppliedPoint | MemberList;

/** One decoded entry of a batch applied the ordered way. */
type Step =
  | { kind: "put"; key: Uint8Array; value: Uint8Array }
  | { kind: "command"; index: number; id: number; command: StateCommand };

export interface LmdbEngineOptions {
  /** Label used in messages (the directory). */
  where: string;
  /** Whether close() closes the environment (false when a Storage shares it). */
  ownsEnv: boolean;
  /**
   * Milliseconds unsynced writes gather before they are queued together (see the top of
   * this file); 0 or absent: each is queued at once (the combined lmdb storage, whose hard
   * state must share the log's transaction).
   */
  gatherMs?: number;
}

/** Unsynced writes not yet queued to lmdb: plain puts, the applied point, a hard state. */
interface Gathered {
  puts: [Buffer, Uint8Array][];
  point: AppliedPoint | undefined;
  hs: HardState | undefined;
}

export class LmdbEngine implements Engine {
  readonly kind = "lmdb";
  readonly maxKeyBytes = MAX_KEY_BYTES;

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
  private readonly space: LmdbKeySpace;
  private members: Map<number, MemberAddresses>;
  private listener: ApplyListener | undefined;
  private readonly view: KvReadView;
  /** Writes holding plain puts (not in the overlay) counted up to the last one queued. */
  private lastUntracked = 0;
  /** Writes whose commit is visible, counted the same way. */
  private visibleWrites = 0;
  private writeCount = 0;
  private gathered: Gathered | undefined;
  private gatherTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly gatherMs: number;

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
    this.members = new Map((this.meta.get(META_MEMBERS) as MemberList | undefined) ?? []);
    this.space = new LmdbKeySpace(this.kv);
    this.view = new LmdbReadView(this.space);
    this.gatherMs = opts.gatherMs ?? 0;
  }

  static attach(env: RootDatabase, opts: LmdbEngineOptions): LmdbEngine {
    return new LmdbEngine(env, opts);
  }

  hardState(): HardState {
    return { ...this.hs };
  }

  /** With `sync`, resolves once the hard state is flushed; otherwise at once. */
  async setHardState(hs: HardState, opts: { sync: boolean }): Promise<void> {
    if (!opts.sync && this.gatherMs > 0) {
      this.checkWritable();
      const copy = { term: hs.term, vote: hs.vote, commit: hs.commit };
      this.gather().hs = copy;
      this.hs = copy;
      return;
    }
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

  setApplyListener(listener: ApplyListener | undefined): void {
    this.listener = listener;
  }

  readView(): KvReadView {
    return this.view;
  }

  memberAddresses(): ReadonlyMap<number, MemberAddresses> {
    return this.members;
  }

  async applyEntries(entries: readonly Entry[]): Promise<void> {
    this.checkWritable();
    let fresh = unapplied(entries, this.applied.index);
    if (fresh.length === 0) return;
    if (this.space.listCount > 0 || fresh.some(isCommandEntry)) {
      // Commands read the state: earlier plain puts must be visible to lmdb's reads first.
      this.queueGathered();
      if (this.visibleWrites < this.lastUntracked) {
        await this.pending;
        this.checkWritable();
        fresh = unapplied(entries, this.applied.index);
        if (fresh.length === 0) return;
      }
      this.applySteps(fresh);
    } else {
      // The benchmark's path: plain puts, nothing to read back. Decode and check every key
      // before writing: a bad batch writes nothing.
      const puts: [Buffer, Uint8Array][] = [];
      forEachPut(fresh, (k, v) => puts.push([storedKey(STRING_PREFIX, k), v]));
      const point = appliedPoint(fresh);
      if (this.gatherMs > 0) {
        const g = this.gather();
        for (const p of puts) g.puts.push(p);
        g.point = point;
        this.applied = point;
        if (g.puts.length >= MAX_GATHERED_PUTS) this.queueGathered();
        return this.applyBackpressure();
      }
      this.write(() => {
        for (const [k, v] of puts) this.kv.put(k, v);
        return this.meta.put(META_APPLIED, point);
      });
      if (puts.length > 0) this.lastUntracked = this.writeCount;
      this.applied = point;
    }
    return this.applyBackpressure();
  }

  /** Bounded: when lmdb's write thread falls far behind, wait for it. */
  private async applyBackpressure(): Promise<void> {
    if (this.queued > MAX_QUEUED_COMMITS) await this.pending;
  }

  /** The open gathering, started (with its timer) if there is none. */
  private gather(): Gathered {
    if (this.gathered === undefined) {
      this.gathered = { puts: [], point: undefined, hs: undefined };
      this.gatherTimer = setTimeout(() => {
        try {
          this.queueGathered();
        } catch {
          // Poisoned: the engine's next call reports the failure.
        }
      }, this.gatherMs);
      this.gatherTimer.unref();
    }
    return this.gathered;
  }

  /** Queues the gathered writes to lmdb, all in this turn, so in one transaction. */
  private queueGathered(): void {
    const g = this.gathered;
    if (g === undefined) return;
    this.gathered = undefined;
    clearTimeout(this.gatherTimer);
    this.gatherTimer = undefined;
    if (this.failure !== undefined) return;
    const { puts, point, hs } = g;
    // Puts are gathered only with the applied point they bring the engine to.
    if (point !== undefined) {
      this.queueWrite(() => {
        for (const [k, v] of puts) this.kv.put(k, v);
        return this.meta.put(META_APPLIED, point);
      });
      if (puts.length > 0) this.lastUntracked = this.writeCount;
    }
    if (hs !== undefined) this.queueWrite(() => this.meta.put(META_HARD, hs));
  }

  /** Decodes the whole batch (a bad entry writes nothing), then applies it in order. */
  private applySteps(fresh: readonly Entry[]): void {
    const steps: Step[] = [];
    for (const e of fresh) {
      if (e.type !== EntryType.Normal || e.data.byteLength === 0) continue;
      if (entryKind(e.data) === "put") {
        forEachPut([e], (key, value) => {
          storedKey(STRING_PREFIX, key); // checks the length before anything changes
          steps.push({ kind: "put", key, value });
        });
      } else {
        const { id, command } = decodeEntryCommand(e);
        for (const key of commandKeys(command)) storedKey(STRING_PREFIX, key);
        steps.push({ kind: "command", index: e.index, id, command });
      }
    }
    const space = this.space;
    const listener = this.listener;
    const results: [number, number, KvResult][] = [];
    let membersChanged = false;
    for (const step of steps) {
      if (step.kind === "put") {
        space.setString(step.key, step.value);
        continue;
      }
      const c = step.command;
      let result: KvResult;
      if (c.op === "member-addresses" || c.op === "forget-member") {
        if (c.op === "member-addresses") this.members.set(c.id, { ...c.addresses });
        else this.members.delete(c.id);
        membersChanged = true;
        result = OK;
      } else {
        result = applyKvWrite(space, c);
      }
      if (listener !== undefined) results.push([step.id, step.index, result]);
    }
    const point = appliedPoint(fresh);
    const batch = space.takeBatch();
    const members = membersChanged ? [...this.members] : undefined;
    this.write(
      () => {
        for (const [k, v] of batch.writes) {
          if (v === null) this.kv.remove(k);
          else this.kv.put(k, v);
        }
        if (members !== undefined) this.meta.put(META_MEMBERS, members);
        return this.meta.put(META_APPLIED, point);
      },
      () => space.visible(batch),
    );
    this.applied = point;
    for (const [id, index, result] of results) listener!.onApplied(id, index, result);
    if (membersChanged) listener?.onMembersChanged?.();
  }

  appliedIndex(): number {
    return this.applied.index;
  }

  private lastCommit: CommitPromise | undefined;

  /**
   * A snapshot of what lmdb has committed (after waiting for the queue), read in one
   * synchronous run, so the key space, the members and the applied point it records were
   * committed together (commands applied meanwhile are in the overlay, not in it).
   */
  async snapshot(): Promise<Snapshot> {
    this.checkWritable();
    this.queueGathered();
    await this.pending;
    this.checkWritable();
    const point = (this.meta.get(META_APPLIED) as AppliedPoint | undefined) ?? {
      index: 0,
      term: 0,
    };
    const cs = (this.meta.get(META_CONF) as ConfState | undefined) ?? this.confState();
    const members = (this.meta.get(META_MEMBERS) as MemberList | undefined) ?? [];
    const pairs: [Uint8Array, Uint8Array][] = [];
    for (const { key, value } of this.kv.getRange(prefixRange(STRING_PREFIX))) {
      pairs.push([key.subarray(1), value]);
    }
    const lists: [Uint8Array, Uint8Array[]][] = [];
    for (const { key, value } of this.kv.getRange(prefixRange(LIST_PREFIX))) {
      const k = key.subarray(1);
      lists.push([k, this.space.committedList(k, value)]);
    }
    const meta = { index: point.index, term: point.term, confState: cs };
    return { data: encodeKvSnapshot({ ...meta, pairs, lists, members }), metadata: meta };
  }

  async restore(snapshot: Snapshot): Promise<void> {
    this.checkWritable();
    const s = decodeKvSnapshot(snapshot.data);
    checkSnapshotAgrees(s, snapshot);
    const puts = s.pairs.map(([k, v]): [Buffer, Uint8Array] => [storedKey(STRING_PREFIX, k), v]);
    const listWrites = LmdbKeySpace.listWrites(s.lists);
    const point = { index: snapshot.metadata.index, term: snapshot.metadata.term };
    const cs = {
      voters: [...snapshot.metadata.confState.voters],
      learners: [...snapshot.metadata.confState.learners],
    };
    const members = s.members.map(([id, a]): [number, MemberAddresses] => [id, { ...a }]);
    const commit = this.write(() => {
      this.kv.clearAsync();
      for (const [k, v] of puts) this.kv.put(k, v);
      for (const [k, v] of listWrites) this.kv.put(k, v!);
      this.meta.put(META_CONF, cs);
      this.meta.put(META_MEMBERS, members);
      return this.meta.put(META_APPLIED, point);
    });
    this.space.reset(s.lists.length);
    this.members = new Map(members);
    this.listener?.onMembersChanged?.();
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
    this.space.reset(0);
    this.members = new Map();
    this.listener?.onMembersChanged?.();
    this.hs = emptyHardState();
    this.cs = { voters: [], learners: [] };
    this.applied = { index: 0, term: 0 };
    await this.settle(commit, true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.queueGathered();
    } catch {
      // Poisoned: what was gathered is lost with the rest; the log still holds it.
    }
    this.closed = true;
    await this.pending.catch(() => {});
    if (this.opts.ownsEnv) await this.env.close();
  }

  /**
   * Queues writes; lmdb failing to even queue them (a closed store) poisons the engine, and
   * so does a commit that fails later, whether or not anyone awaits it.
   */
  private write(queue: () => CommitPromise | Promise<void>, onVisible?: () => void): CommitPromise {
    // Gathered writes come first, as they were made first.
    this.queueGathered();
    return this.queueWrite(queue, onVisible);
  }

  private queueWrite(
    queue: () => CommitPromise | Promise<void>,
    onVisible?: () => void,
  ): CommitPromise {
    let commit: CommitPromise;
    try {
      commit = queue() as CommitPromise;
    } catch (err) {
      throw this.poison(err);
    }
    this.queued++;
    const count = ++this.writeCount;
    this.pending = settle(commit, false, this.env).then(
      () => {
        this.queued--;
        this.visibleWrites = count;
        onVisible?.();
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
    this.queueGathered();
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
  // (rare), so the engine gathers them: one transaction, and one flush, per ~10 ms instead of
  // one or two per Ready, each of which costs CPU and competes with the WAL's fdatasync.
  const env = openLmdbEnv(opts.dir, opts.env);
  return LmdbEngine.attach(env, { where: opts.dir, ownsEnv: true, gatherMs: ENGINE_GATHER_MS });
}

function isCommandEntry(e: Entry): boolean {
  return e.type === EntryType.Normal && e.data.byteLength > 0 && entryKind(e.data) !== "put";
}

function appliedPoint(fresh: readonly Entry[]): AppliedPoint {
  const last = fresh[fresh.length - 1]!;
  return { index: last.index, term: last.term };
}

/** The keys a command names (for the length check before anything is written). */
function commandKeys(c: StateCommand): readonly Uint8Array[] {
  switch (c.op) {
    case "mset":
      return c.pairs.map(([k]) => k);
    case "del":
      return c.keys;
    case "member-addresses":
    case "forget-member":
      return [];
    default:
      return [(c as Extract<KvWrite, { key: Uint8Array }>).key];
  }
}

/** lmdb range options covering every stored key with this one-byte prefix. */
function prefixRange(prefix: number): { start: Buffer; end: Buffer } {
  return { start: Buffer.of(prefix), end: Buffer.of(prefix + 1) };
}

/** Reads over the lmdb key space, the overlay of queued commands included. */
class LmdbReadView implements KvReadView {
  constructor(private readonly space: LmdbKeySpace) {}

  get(key: Uint8Array): Uint8Array | null {
    if (key.byteLength > MAX_KEY_BYTES) return null;
    return this.space.getString(key);
  }

  exists(key: Uint8Array): boolean {
    if (key.byteLength > MAX_KEY_BYTES) return false;
    return this.space.typeOf(key) !== "none";
  }

  keys(pattern: Uint8Array): Uint8Array[] {
    // Only keys starting with the pattern's literal prefix can match: scan just those.
    const lit = literalPrefix(pattern);
    if (lit.length > MAX_KEY_BYTES) return [];
    const out: Uint8Array[] = [];
    for (const prefix of [STRING_PREFIX, LIST_PREFIX]) {
      for (const k of this.space.scan(storedKey(prefix, lit)).keys()) {
        const key = Buffer.from(k, "latin1").subarray(1);
        if (globMatch(pattern, key)) out.push(key);
      }
    }
    return out.sort(Buffer.compare);
  }

  scanPrefix(prefix: Uint8Array, limit: number): [Uint8Array, Uint8Array][] {
    if (prefix.length > MAX_KEY_BYTES || limit <= 0) return [];
    const found = this.space.scan(storedKey(STRING_PREFIX, prefix), limit);
    return [...found.keys()]
      .sort()
      .slice(0, limit)
      .map((k): [Uint8Array, Uint8Array] => [Buffer.from(k, "latin1").subarray(1), found.get(k)!])
      .filter(([k]) => startsWith(k, prefix));
  }

  size(): number {
    return (
      this.space.countRange(Buffer.of(STRING_PREFIX)) +
      this.space.countRange(Buffer.of(LIST_PREFIX))
    );
  }

  listLength(key: Uint8Array): number | null {
    if (key.byteLength > MAX_KEY_BYTES) return 0;
    return this.space.typeOf(key) === "string" ? null : this.space.listLength(key);
  }
}
