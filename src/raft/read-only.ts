// Linearizable reads (ReadIndex, safe mode): a read records the commit index when it arrives
// and is answered once a quorum has acknowledged a heartbeat carrying its context, which
// proves the leader was still the leader at that moment.
import type { Message } from "./types.js";
import { bytesKey } from "./util.js";

export interface ReadIndexStatus {
  req: Message;
  index: number;
  acks: Map<number, boolean>;
}

export class ReadOnly {
  private readonly pending = new Map<string, ReadIndexStatus>();
  private queue: string[] = [];

  /** Registers a read received at commit index `index`; a repeated context is ignored. */
  addRequest(index: number, req: Message): void {
    const key = bytesKey(req.entries[0]!.data);
    if (this.pending.has(key)) return;
    this.pending.set(key, { req, index, acks: new Map() });
    this.queue.push(key);
  }

  /** Records an ack of the heartbeat with `ctx`; returns the acks so far, if the read is known. */
  recvAck(id: number, ctx: Uint8Array): Map<number, boolean> | undefined {
    const rs = this.pending.get(bytesKey(ctx));
    if (rs === undefined) return undefined;
    rs.acks.set(id, true);
    return rs.acks;
  }

  /**
   * Dequeues every read up to and including the one with `ctx`: a quorum acknowledging a
   * later heartbeat confirms the earlier reads too.
   */
  advance(ctx: Uint8Array): ReadIndexStatus[] {
    const key = bytesKey(ctx);
    const at = this.queue.indexOf(key);
    if (at < 0) return [];
    const done: ReadIndexStatus[] = [];
    for (let i = 0; i <= at; i++) {
      const k = this.queue[i]!;
      const rs = this.pending.get(k);
      if (rs !== undefined) done.push(rs);
      this.pending.delete(k);
    }
    this.queue = this.queue.slice(at + 1);
    return done;
  }

  /** Context of the newest pending read, to piggyback on heartbeats. */
  lastPendingRequestCtx(): Uint8Array | undefined {
    if (this.queue.length === 0) return undefined;
    const rs = this.pending.get(this.queue[this.queue.length - 1]!);
    return rs === undefined ? undefined : rs.req.entries[0]!.data;
  }

  get size(): number {
    return this.queue.length;
  }
}
