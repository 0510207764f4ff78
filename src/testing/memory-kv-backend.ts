// TEST SUPPORT: a KvBackend in one process, for the front-ends' tests. Its state machine is a
// real mem engine applying the writes as command entries; nothing is replicated. Tests can delay
// commits (to finish them out of order), fail calls with a BackendError, and see every batch
// the front-end handed over.
import { encodeCommand } from "../proposal/command.js";
import { type Entry, EntryType } from "../raft/types.js";
import {
  BackendError,
  type BackendErrorCode,
  type ClusterInfo,
  type KvBackend,
  type KvReadView,
  type KvResult,
  type KvWrite,
  type ReadCallbacks,
  type ReadMode,
  type WriteCallbacks,
} from "../service/contract.js";
import { MemEngine } from "../storage/engine/mem-engine.js";

/** The keys and results a write produces, from a real mem engine applying it as an entry. */
class EngineState {
  readonly engine = new MemEngine();
  private index = 0;
  private results: KvResult[] = [];

  constructor() {
    this.engine.setApplyListener({ onApplied: (_id, _index, result) => this.results.push(result) });
  }

  /** Applies `writes` as one batch of committed entries; their results in order. */
  async apply(writes: readonly KvWrite[]): Promise<KvResult[]> {
    const entries: Entry[] = writes.map((w, i) => ({
      term: 1,
      index: ++this.index,
      type: EntryType.Normal,
      data: encodeCommand(i, w),
    }));
    this.results = [];
    await this.engine.applyEntries(entries);
    const out = this.results;
    this.results = [];
    return out;
  }

  get applied(): number {
    return this.index;
  }
}

export interface MemoryBackendOptions {
  /** Milliseconds before the n-th batch (from 0) applies; default: the next macrotask. */
  commitDelayMs?: (batch: number) => number;
}

export class MemoryBackend implements KvBackend {
  private readonly state = new EngineState();
  /** Every batch handed over, in order: its number of writes. */
  readonly batches: number[] = [];
  readonly reads: ReadMode[] = [];
  /** When set, every call fails with this. */
  failWith: BackendError | null = null;
  private applyQueue: Promise<void> = Promise.resolve();
  members: ClusterInfo["members"] = [{ id: 1, raft: "127.0.0.1:1", role: "voter" }];
  healthyNow = true;

  constructor(private readonly options: MemoryBackendOptions = {}) {}

  /** Makes every call fail with a BackendError of `code` (null: succeed again). */
  fail(code: BackendErrorCode | null, leader?: { id: number; resp?: string; http?: string }): void {
    this.failWith = code === null ? null : new BackendError(code, `test: ${code}`, leader);
  }

  async write(w: KvWrite): Promise<KvResult> {
    const [result] = await this.writeBatch([w]);
    return result as KvResult;
  }

  writeBatch(writes: readonly KvWrite[]): Promise<KvResult[]> {
    if (this.failWith !== null) return Promise.reject(this.failWith);
    const n = this.batches.length;
    this.batches.push(writes.length);
    const delay = this.options.commitDelayMs?.(n) ?? 0;
    // Results wait for the delay, but writes apply in hand-over order, as a log would.
    const applied = this.applyQueue.then(() => this.state.apply(writes));
    this.applyQueue = applied.then(() => undefined);
    return new Promise((resolve, reject) => {
      setTimeout(() => applied.then(resolve, reject), delay);
    });
  }

  writeBatchWith(writes: readonly KvWrite[], to: WriteCallbacks): void {
    this.writeBatch(writes).then(to.done, to.fail);
  }

  async read(mode: ReadMode): Promise<KvReadView> {
    if (this.failWith !== null) throw this.failWith;
    this.reads.push(mode);
    await this.applyQueue;
    return this.state.engine.readView();
  }

  readWith(mode: ReadMode, to: ReadCallbacks): void {
    this.read(mode).then(to.view, to.fail);
  }

  cluster(): ClusterInfo {
    return {
      id: 1,
      role: "leader",
      leader: 1,
      term: 1,
      commitIndex: this.state.applied,
      appliedIndex: this.state.applied,
      members: this.members,
    };
  }

  healthy(): boolean {
    return this.healthyNow && this.failWith === null;
  }

  async join(member: { id: number; raft: string; resp?: string; http?: string }): Promise<void> {
    if (this.failWith !== null) throw this.failWith;
    if (this.members.some((m) => m.id === member.id)) {
      throw new BackendError("bad-request", `node ${member.id} is already a member`);
    }
    this.members = [...this.members, { ...member, role: "voter" }];
  }

  async remove(id: number): Promise<void> {
    if (this.failWith !== null) throw this.failWith;
    if (!this.members.some((m) => m.id === id)) {
      throw new BackendError("bad-request", `node ${id} is not a member`);
    }
    this.members = this.members.filter((m) => m.id !== id);
  }
}
