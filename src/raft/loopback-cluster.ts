// The core's speed of light: N RawNodes in one process over MemoryStorage, messages handed
// straight from one node to another, no encoding and no I/O. Used by the core benchmark to
// measure what the consensus logic alone costs per proposal (the caller times it).
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD } from "./api.js";
import { decodeConfChange } from "./confchange.js";
import { MemoryStorage } from "./memory-storage.js";
import { RawNode } from "./rawnode.js";
import { SeededRng } from "./rng.js";
import { type Entry, EntryType, type Message } from "./types.js";

export interface LoopbackOptions {
  nodes?: number;
  asyncStorageWrites?: boolean;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  /** Keep at most about this many entries in each node's storage (compacting behind). */
  retainEntries?: number;
}

interface LoopbackNode {
  rn: RawNode;
  storage: MemoryStorage;
  applied: number;
}

export class LoopbackCluster {
  private readonly nodes = new Map<number, LoopbackNode>();
  private queue: Message[] = [];
  private readonly asyncStorageWrites: boolean;
  private readonly retain: number;
  private batches = 0;

  constructor(opts: LoopbackOptions = {}) {
    const n = opts.nodes ?? 3;
    this.asyncStorageWrites = opts.asyncStorageWrites === true;
    this.retain = opts.retainEntries ?? 50_000;
    const ids = Array.from({ length: n }, (_, i) => i + 1);
    for (const id of ids) {
      const storage = new MemoryStorage();
      const rn = new RawNode({
        id,
        electionTick: 10,
        heartbeatTick: 1,
        storage,
        maxSizePerMsg: opts.maxSizePerMsg ?? 1 << 20,
        maxInflightMsgs: opts.maxInflightMsgs ?? 256,
        asyncStorageWrites: this.asyncStorageWrites,
        rng: new SeededRng(id),
      });
      rn.bootstrap(ids);
      this.nodes.set(id, { rn, storage, applied: 0 });
    }
    this.pump();
    this.node(1).rn.campaign();
    this.pump();
    if (this.node(1).rn.status().role !== "leader")
      throw new Error("loopback cluster: node 1 failed to become leader");
  }

  private node(id: number): LoopbackNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`loopback cluster: no node ${id}`);
    return n;
  }

  /** Entries applied on the node that has applied the fewest. */
  minApplied(): number {
    let min = Number.POSITIVE_INFINITY;
    for (const n of this.nodes.values()) min = Math.min(min, n.applied);
    return min;
  }

  /** Proposes one batch on the leader and runs the cluster until nothing moves. */
  proposeBatch(datas: readonly Uint8Array[]): void {
    this.node(1).rn.proposeBatch(datas);
    this.pump();
    if (++this.batches % 64 === 0) this.compact();
  }

  /** Drops old entries so long runs measure steady state, not a growing log. */
  compact(): void {
    for (const n of this.nodes.values()) {
      // Only once twice the retained amount piled up, so the copying stays amortized O(1).
      const upTo = n.rn.status().applied - this.retain;
      if (upTo - n.storage.firstIndex() > this.retain) n.storage.compact(upTo);
    }
  }

  private apply(n: LoopbackNode, ents: readonly Entry[]): void {
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.type === EntryType.ConfChange) n.rn.applyConfChange(decodeConfChange(e.data));
    }
    n.applied += ents.length;
  }

  private handleReady(n: LoopbackNode): void {
    const rd = n.rn.ready();
    if (!this.asyncStorageWrites) {
      if (rd.snapshot !== undefined) n.storage.applySnapshot(rd.snapshot);
      n.storage.append(rd.entries);
      if (rd.hardState !== undefined) n.storage.setHardState(rd.hardState);
      for (const m of rd.messages) this.queue.push(m);
      this.apply(n, rd.committedEntries);
      n.rn.advance(rd);
      return;
    }
    for (const m of rd.messages) {
      if (m.to === LOCAL_APPEND_THREAD) {
        if (m.snapshot !== undefined) n.storage.applySnapshot(m.snapshot);
        n.storage.append(m.entries);
        if (m.term !== 0) n.storage.setHardState({ term: m.term, vote: m.vote, commit: m.commit });
        this.deliverResponses(n, m.responses);
      } else if (m.to === LOCAL_APPLY_THREAD) {
        this.apply(n, m.entries);
        this.deliverResponses(n, m.responses);
      } else {
        this.queue.push(m);
      }
    }
  }

  private deliverResponses(n: LoopbackNode, responses: Message[] | undefined): void {
    if (responses === undefined) return;
    const self = n.rn.status().id;
    for (const r of responses) {
      if (r.to === self) n.rn.step(r);
      else this.queue.push(r);
    }
  }

  private pump(): void {
    let moved = true;
    while (moved) {
      moved = false;
      for (const n of this.nodes.values()) {
        while (n.rn.hasReady()) {
          moved = true;
          this.handleReady(n);
        }
      }
      if (this.queue.length > 0) {
        moved = true;
        const q = this.queue;
        this.queue = [];
        for (const m of q) this.node(m.to).rn.step(m);
      }
    }
  }
}
