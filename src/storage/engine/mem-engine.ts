// The in-memory engine: the applied state in memory (applied-state.ts), hard state in a
// field. Nothing survives a restart; a node on it rebuilds its state by re-applying its log.
import type { KvReadView, MemberAddresses } from "../../proposal/kv.js";
import {
  type ConfState,
  type Entry,
  emptyHardState,
  type HardState,
  type Snapshot,
} from "../../raft/types.js";
import { EngineError } from "../errors.js";
import { AppliedState, checkSnapshotAgrees, stateFromSnapshot } from "./applied-state.js";
import type { ApplyListener, Engine } from "./engine.js";
import { decodeKvSnapshot } from "./kv-snapshot.js";
import { MemKeySpace } from "./mem-keyspace.js";

export class MemEngine implements Engine {
  readonly kind = "mem";
  readonly maxKeyBytes = Number.POSITIVE_INFINITY;
  private readonly state = new AppliedState();
  private hs: HardState = emptyHardState();
  private cs: ConfState = { voters: [], learners: [] };
  private closed = false;

  hardState(): HardState {
    return { ...this.hs };
  }

  async setHardState(hs: HardState, _opts: { sync: boolean }): Promise<void> {
    this.checkOpen();
    this.hs = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  confState(): ConfState {
    return { voters: [...this.cs.voters], learners: [...this.cs.learners] };
  }

  async setConfState(cs: ConfState): Promise<void> {
    this.checkOpen();
    this.cs = { voters: [...cs.voters], learners: [...cs.learners] };
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

  async applyEntries(entries: readonly Entry[]): Promise<void> {
    this.checkOpen();
    this.state.apply(entries);
  }

  appliedIndex(): number {
    return this.state.applied.index;
  }

  async snapshot(): Promise<Snapshot> {
    this.checkOpen();
    return this.state.snapshot(this.confState());
  }

  async restore(snapshot: Snapshot): Promise<void> {
    this.checkOpen();
    const s = decodeKvSnapshot(snapshot.data);
    checkSnapshotAgrees(s, snapshot);
    const { space, members } = stateFromSnapshot(s);
    this.state.replace(space, members, snapshot.metadata);
    this.cs = {
      voters: [...snapshot.metadata.confState.voters],
      learners: [...snapshot.metadata.confState.learners],
    };
  }

  async clear(): Promise<void> {
    this.checkOpen();
    this.state.replace(new MemKeySpace(), new Map(), { index: 0, term: 0 });
    this.hs = emptyHardState();
    this.cs = { voters: [], learners: [] };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.state.release();
  }

  private checkOpen(): void {
    if (this.closed) throw new EngineError("closed", "engine: closed");
  }
}
