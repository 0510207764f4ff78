// Adapts a Storage (src/storage: a Wal plus an Engine, or the combined lmdb storage) to what
// the Peer needs, giving the core a fresh log view for every incarnation of the node.
import type { PersistRequest } from "../pipeline/pipeline.js";
import type { LogStorage } from "../raft/api.js";
import type { ConfState, Entry } from "../raft/types.js";
import { StorageLogView } from "../storage/log-view.js";
import type { Storage } from "../storage/storage.js";
import type { PeerStorage } from "./contracts.js";

export class StoragePeerStorage implements PeerStorage {
  readonly description: string;

  constructor(
    readonly storage: Storage,
    description?: string,
  ) {
    const { wal, engine } = storage;
    this.description = description ?? `wal=${wal.kind} (${wal.syncMode}), engine=${engine.kind}`;
  }

  lastIndex(): number {
    return this.storage.wal.lastIndex();
  }

  firstIndex(): number {
    return this.storage.wal.firstIndex();
  }

  compact(upTo: number): Promise<void> {
    return this.storage.wal.compact(upTo);
  }

  flushApplied(): Promise<void> {
    return this.storage.engine.flushed?.() ?? Promise.resolve();
  }

  appliedIndex(): number {
    return this.storage.engine.appliedIndex();
  }

  persist(req: PersistRequest, sync: boolean): Promise<void> {
    return this.storage.persist(req, sync);
  }

  applyEntries(entries: readonly Entry[]): Promise<void> {
    return this.storage.applyEntries(entries);
  }

  setConfState(cs: ConfState): Promise<void> {
    return this.storage.engine.setConfState(cs);
  }

  logView(): LogStorage {
    return new StorageLogView(this.storage);
  }

  reset(): Promise<void> {
    return this.storage.reset();
  }

  close(): Promise<void> {
    return this.storage.close();
  }
}
