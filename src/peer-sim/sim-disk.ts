// Simulated storage with the faults of a real disk. A node's SimDisk outlives its crashes;
// each life opens a SimStorage (the Peer's PeerStorage) over it. Like the split storage of
// src/storage, the state sits in two files: the log (the WAL) and the engine (hard state,
// applied state, membership), each an ordered list of writes. A write is visible to the
// process once written and durable only once its file is synced. A crash keeps, of each
// file's writes not yet synced, an in-order prefix, whose last log write may be torn (a
// prefix of its entries): so a crash inside a persist can leave the entries durable and the
// hard state not, or half of the entries. A sync can fail (the storage then refuses every
// later write, as a real node must stop), and a disk can turn slow for a while.

import type { PeerStorage } from "../peer/contracts.js";
import type { PersistRequest } from "../pipeline/pipeline.js";
import type { LogStorage } from "../raft/api.js";
import { RaftError } from "../raft/errors.js";
import type { SeededRng } from "../raft/rng.js";
import {
  type ConfState,
  type Entry,
  EntryType,
  emptySnapshot,
  type HardState,
  isEmptySnapshot,
  type Snapshot,
} from "../raft/types.js";
import type { Scheduler } from "../units/clock.js";
import { proposalIdOf } from "./proposal-ids.js";
import type { Life } from "./virtual-time.js";

/** The engine's state: what a state machine over proposal ids holds. */
interface EngineImage {
  hardState: HardState;
  confState: ConfState;
  applied: number;
  /** Proposal ids applied, in log order. */
  ids: number[];
}

type LogWrite = { kind: "append"; entries: readonly Entry[] };
type EngineWrite =
  | { kind: "hard-state"; hardState: HardState }
  | { kind: "apply"; entries: readonly Entry[] }
  | { kind: "conf"; confState: ConfState };

/** What the checks learn from a disk: writes handed to it, and what became durable. */
export interface DiskWatch {
  /** These entries are durable now, replacing the durable log from entries[0].index. */
  durableAppend(node: number, entries: readonly Entry[]): void;
  /** The durable hard state's commit index moved (lowered to the durable log's end). */
  durableCommit(node: number, commit: number): void;
  /** The process's engine applied `e` (redeliveries at or below its index included). */
  applied(node: number, e: Entry): void;
  /** A sub-step of a persist is about to start: the nemesis may crash the node here. */
  persistStep(node: number, step: "entries" | "hard-state" | "sync"): void;
}

function cloneEngine(e: EngineImage): EngineImage {
  return {
    hardState: { ...e.hardState },
    confState: { voters: [...e.confState.voters], learners: [...e.confState.learners] },
    applied: e.applied,
    ids: [...e.ids],
  };
}

function emptyEngine(): EngineImage {
  return {
    hardState: { term: 0, vote: 0, commit: 0 },
    confState: { voters: [], learners: [] },
    applied: 0,
    ids: [],
  };
}

/** Replaces `log` (entries from index 1) from entries[0].index on. */
function appendTo(log: Entry[], entries: readonly Entry[]): void {
  if (entries.length === 0) return;
  const first = entries[0]!.index;
  if (first > log.length + 1) {
    throw new Error(`sim disk: append at ${first} after a log ending at ${log.length}`);
  }
  log.length = first - 1;
  for (const e of entries) log.push(e);
}

function applyTo(engine: EngineImage, w: EngineWrite): void {
  if (w.kind === "hard-state") engine.hardState = { ...w.hardState };
  else if (w.kind === "conf") engine.confState = w.confState;
  else {
    for (const e of w.entries) {
      if (e.index <= engine.applied) continue;
      engine.applied = e.index;
      const id = e.type === EntryType.Normal ? proposalIdOf(e.data) : undefined;
      if (id !== undefined) engine.ids.push(id);
    }
  }
}

/** Disk timing: the latency of one write and of one sync, in virtual ms. */
export interface DiskTiming {
  writeMs: number;
  syncMs: number;
}

export class SimDisk {
  /** The durable log: entry i at durableLog[i - 1]. */
  readonly durableLog: Entry[] = [];
  durableEngine: EngineImage = emptyEngine();
  /** Written, not yet synced, in write order. */
  private pendingLog: LogWrite[] = [];
  private pendingEngine: EngineWrite[] = [];
  /** The disk is slow (every latency multiplied) until this virtual time. */
  slowUntil = 0;
  slowFactor = 1;
  /** The next sync fails. */
  failNextSync = false;
  timing: DiskTiming;

  constructor(
    readonly node: number,
    private readonly rng: SeededRng,
    private readonly watch: DiskWatch,
  ) {
    this.timing = { writeMs: 0.02 + rng.float() * 0.1, syncMs: 0.3 + rng.float() * 1.5 };
  }

  /** @internal The latency of one operation now. */
  latency(kind: keyof DiskTiming, now: number): number {
    const base = this.timing[kind] * (0.5 + this.rng.float());
    return now < this.slowUntil ? base * this.slowFactor : base;
  }

  /** @internal */
  wroteLog(w: LogWrite): void {
    this.pendingLog.push(w);
  }

  /** @internal */
  wroteEngine(w: EngineWrite): void {
    this.pendingEngine.push(w);
  }

  /** @internal Everything written to the log so far is durable. */
  syncLog(): void {
    for (const w of this.pendingLog) this.makeDurable(w);
    this.pendingLog = [];
  }

  /** @internal Everything written to the engine so far is durable. */
  syncEngine(): void {
    for (const w of this.pendingEngine) applyTo(this.durableEngine, w);
    this.pendingEngine = [];
    this.noteDurableCommit();
  }

  private makeDurable(w: LogWrite): void {
    appendTo(this.durableLog, w.entries);
    this.watch.durableAppend(this.node, w.entries);
  }

  private noteDurableCommit(): void {
    const commit = Math.min(this.durableEngine.hardState.commit, this.durableLog.length);
    this.watch.durableCommit(this.node, commit);
  }

  /**
   * A crash: of each file's unsynced writes an in-order prefix survives, the last log write
   * of it possibly torn (only a prefix of its entries reached the platter).
   */
  crash(): { keptLogWrites: number; tornEntries: number; keptEngineWrites: number } {
    const keepLog = this.rng.intn(this.pendingLog.length + 1);
    let torn = 0;
    for (let i = 0; i < keepLog; i++) {
      let w = this.pendingLog[i]!;
      if (i === keepLog - 1 && w.entries.length > 1 && this.rng.intn(2) === 0) {
        const keep = 1 + this.rng.intn(w.entries.length - 1);
        torn = w.entries.length - keep;
        w = { kind: "append", entries: w.entries.slice(0, keep) };
      }
      this.makeDurable(w);
    }
    this.pendingLog = [];
    const keepEngine = this.rng.intn(this.pendingEngine.length + 1);
    for (let i = 0; i < keepEngine; i++) applyTo(this.durableEngine, this.pendingEngine[i]!);
    this.pendingEngine = [];
    // The engine's applied point never passes the surviving log: entries are applied only
    // once their log write is synced. Were it otherwise, the restart would fail the core's
    // applied-within-log invariant, which the simulator reports as unexpected-fatal.
    this.noteDurableCommit();
    return { keptLogWrites: keepLog, tornEntries: torn, keptEngineWrites: keepEngine };
  }

  /** Opens the storage one life of the node sees. */
  open(sched: Scheduler, life: Life): SimStorage {
    return new SimStorage(this, sched, life, this.watch);
  }

  /** @internal */
  wipe(): void {
    this.durableLog.length = 0;
    this.durableEngine = emptyEngine();
    this.pendingLog = [];
    this.pendingEngine = [];
  }
}

/** Thrown by a sync the nemesis made fail, and by every write after it. */
export class SimDiskFailure extends Error {
  constructor(node: number, what: string) {
    super(`node ${node}: simulated ${what}`);
    this.name = "SimDiskFailure";
  }
}

/** One life's view of its disk: the Peer's storage. */
export class SimStorage implements PeerStorage {
  readonly description = "simulated disk";
  private readonly log: Entry[];
  private readonly engine: EngineImage;
  /** Writes run one after another, as a WAL's do. */
  private tail: Promise<void> = Promise.resolve();
  /** A sync failed: every later write fails too. */
  failed = false;

  constructor(
    private readonly disk: SimDisk,
    private readonly sched: Scheduler,
    private readonly life: Life,
    private readonly watch: DiskWatch,
  ) {
    this.log = [...disk.durableLog];
    this.engine = cloneEngine(disk.durableEngine);
  }

  /** Proposal ids the engine applied (the simulator's final check reads them). */
  appliedIds(): readonly number[] {
    return this.engine.ids;
  }

  /** The entries of the log as this life sees it, from index 1. */
  entriesSeen(): readonly Entry[] {
    return this.log;
  }

  lastIndex(): number {
    return this.log.length;
  }

  firstIndex(): number {
    return 1;
  }

  appliedIndex(): number {
    return this.engine.applied;
  }

  /** Compaction is off in the simulator (its runs stay short enough). */
  async compact(): Promise<void> {}

  flushApplied(): Promise<void> {
    return this.serial(async () => {
      await this.wait("syncMs");
      this.disk.syncEngine();
    });
  }

  /**
   * As the split storage does: the entries are written and synced before the hard state is
   * written (its commit may point at them), and only a changed term or vote syncs the engine.
   */
  persist(req: PersistRequest, sync: boolean): Promise<void> {
    return this.serial(async () => {
      if (!isEmptySnapshot(req.snapshot)) {
        throw new Error("sim disk: snapshots are not simulated (compaction is off)");
      }
      if (req.entries.length > 0) {
        if (!this.stepAlive("entries")) return never();
        // On the disk's queue from now on: a crash during the write may keep a part of it.
        this.disk.wroteLog({ kind: "append", entries: req.entries });
        await this.wait("writeMs");
        appendTo(this.log, req.entries);
        if (sync) {
          if (!this.stepAlive("sync")) return never();
          await this.sync();
          this.disk.syncLog();
        }
      }
      if (req.hardState !== undefined) {
        if (!this.stepAlive("hard-state")) return never();
        const stored = this.engine.hardState;
        const votingChanged =
          req.hardState.term !== stored.term || req.hardState.vote !== stored.vote;
        this.disk.wroteEngine({ kind: "hard-state", hardState: { ...req.hardState } });
        await this.wait("writeMs");
        this.engine.hardState = { ...req.hardState };
        if (sync && votingChanged) {
          await this.sync();
          this.disk.syncEngine();
        }
      }
    });
  }

  /** Waits for a sync; one the nemesis made fail fails this life's storage for good. */
  private async sync(): Promise<void> {
    await this.wait("syncMs");
    if (this.disk.failNextSync) {
      this.disk.failNextSync = false;
      this.failed = true;
      throw new SimDiskFailure(this.disk.node, "fsync failure");
    }
  }

  applyEntries(entries: readonly Entry[]): Promise<void> {
    return this.serial(async () => {
      await this.wait("writeMs");
      for (const e of entries) this.watch.applied(this.disk.node, e);
      const w: EngineWrite = { kind: "apply", entries };
      this.disk.wroteEngine(w);
      applyTo(this.engine, w);
    });
  }

  setConfState(cs: ConfState): Promise<void> {
    return this.serial(async () => {
      const confState = { voters: [...cs.voters], learners: [...cs.learners] };
      this.disk.wroteEngine({ kind: "conf", confState });
      this.engine.confState = confState;
    });
  }

  logView(): LogStorage {
    return new SimLogView(this.log, this.engine);
  }

  reset(): Promise<void> {
    return this.serial(async () => {
      await this.wait("syncMs");
      this.disk.wipe();
      this.log.length = 0;
      Object.assign(this.engine, emptyEngine());
    });
  }

  async close(): Promise<void> {
    await this.tail.catch(() => {});
  }

  /** Tells the nemesis a persist step starts; false when it crashed the node right there. */
  private stepAlive(step: "entries" | "hard-state" | "sync"): boolean {
    this.watch.persistStep(this.disk.node, step);
    return this.life.alive;
  }

  /** Waits for the disk; a life that crashed meanwhile never wakes (its timers are dropped). */
  private wait(kind: keyof DiskTiming): Promise<void> {
    const ms = this.disk.latency(kind, this.sched.now());
    return new Promise((resolve) => this.sched.setTimeout(resolve, ms));
  }

  /** Runs `job` after every write before it; a failed disk refuses it. */
  private serial(job: () => Promise<void>): Promise<void> {
    const run = this.tail.then(() => {
      // A crashed life's process is gone: its writes never start, never finish.
      if (!this.life.alive) return never();
      if (this.failed) throw new SimDiskFailure(this.disk.node, "write after a failed sync");
      return job();
    });
    this.tail = run.catch(() => {});
    return run;
  }
}

/** A promise that never settles: the work of a process that no longer exists. */
function never(): Promise<void> {
  return new Promise<void>(() => {});
}

/** The core's read-only view over one life's log and engine. */
class SimLogView implements LogStorage {
  constructor(
    private readonly log: readonly Entry[],
    private readonly engine: EngineImage,
  ) {}

  initialState(): { hardState: HardState; confState: ConfState } {
    const hs = this.engine.hardState;
    return {
      hardState: { term: hs.term, vote: hs.vote, commit: Math.min(hs.commit, this.log.length) },
      confState: this.engine.confState,
    };
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi && i <= this.log.length; i++) {
      const e = this.log[i - 1]!;
      bytes += e.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  term(i: number): number {
    if (i === 0) return 0;
    const e = this.log[i - 1];
    if (e === undefined) throw new RaftError("unavailable", `sim disk: no entry at ${i}`);
    return e.term;
  }

  firstIndex(): number {
    return 1;
  }

  lastIndex(): number {
    return this.log.length;
  }

  snapshot(): Snapshot {
    return emptySnapshot();
  }
}
