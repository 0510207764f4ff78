// A bounded queue of message batches between their producers (the transport's receive
// callback, a pipeline's background work) and the peer loop, which takes them all at once
// each turn. The bound counts messages, not batches; what to do when it is reached is the
// caller's policy (limits.ts says which for each queue).
import type { Message } from "../raft/types.js";

export class MessageQueue {
  private batches: (readonly Message[])[] = [];
  private count = 0;

  constructor(readonly limit: number) {
    if (!(limit >= 1)) throw new RangeError(`message queue limit must be >= 1, got ${limit}`);
  }

  /** Messages queued. */
  get size(): number {
    return this.count;
  }

  /** Queues `batch`; false (and nothing queued) when it would pass the limit. */
  push(batch: readonly Message[]): boolean {
    if (this.count + batch.length > this.limit && this.count > 0) return false;
    this.batches.push(batch);
    this.count += batch.length;
    return true;
  }

  /** Takes every queued batch, oldest first. */
  takeAll(): (readonly Message[])[] {
    const out = this.batches;
    this.batches = [];
    this.count = 0;
    return out;
  }

  clear(): void {
    this.batches = [];
    this.count = 0;
  }
}
