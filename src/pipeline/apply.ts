// Applying committed entries: normal entries go to the engine in batches; a conf-change
// entry splits the batch so membership changes take effect exactly in log order.
import { type Entry, EntryType } from "../raft/types.js";
import type { PipelineHost } from "./pipeline.js";

/** Whether any entry in the batch is a conf change (the rare case: bootstrap, membership). */
export function hasConfChange(entries: readonly Entry[]): boolean {
  for (let i = 0; i < entries.length; i++) {
    if (entries[i]!.type === EntryType.ConfChange) return true;
  }
  return false;
}

/** Applies `entries` in order; a conf change takes effect right after the entries before it. */
export async function applyInOrder(host: PipelineHost, entries: readonly Entry[]): Promise<void> {
  if (entries.length === 0) return;
  const start = host.clock.now();
  if (!hasConfChange(entries)) {
    await host.storage.applyEntries(entries);
  } else {
    let from = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.type !== EntryType.ConfChange) continue;
      // The new configuration is stored before the applied index moves past its entry: a
      // crash between the two then replays the conf change on restart (applying it again
      // gives the same configuration). The other order could keep an applied index past a
      // configuration that was never stored, and the restarted node would lose the change.
      // The entry itself still goes to the engine, which stores no key for it.
      if (from < i) await host.storage.applyEntries(entries.slice(from, i));
      await host.applyConfChange(e);
      await host.storage.applyEntries([e]);
      from = i + 1;
    }
    if (from < entries.length) {
      await host.storage.applyEntries(entries.slice(from));
    }
  }
  host.metrics.applyBatchSize.record(entries.length);
  host.metrics.applyLatencyNs.record(Math.round((host.clock.now() - start) * 1e6));
}

/**
 * Applies batches one after another in the background, so the peer loop can go on while
 * the engine works. Bounded: `waitForRoom()` holds the loop back when too many entries wait.
 */
export class AsyncApplier {
  private readonly queue: Entry[][] = [];
  private queuedEntries = 0;
  private running: Promise<void> | undefined;
  private roomWaiter: (() => void) | undefined;

  constructor(
    private readonly host: PipelineHost,
    /** Called after each batch is applied (e.g. acknowledge proposals). */
    private readonly afterApply: (entries: readonly Entry[]) => void,
    private readonly maxQueuedEntries = 65536,
  ) {}

  push(entries: Entry[]): void {
    if (entries.length === 0) return;
    this.queue.push(entries);
    this.queuedEntries += entries.length;
    if (this.running === undefined) this.running = this.work();
  }

  /** Resolves when the queue is below its bound (immediately in the common case). */
  waitForRoom(): Promise<void> | undefined {
    if (this.queuedEntries < this.maxQueuedEntries) return undefined;
    return new Promise((resolve) => {
      this.roomWaiter = resolve;
    });
  }

  async drain(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async work(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.shift()!;
        await applyInOrder(this.host, batch);
        this.queuedEntries -= batch.length;
        this.afterApply(batch);
        if (this.roomWaiter !== undefined && this.queuedEntries < this.maxQueuedEntries) {
          const wake = this.roomWaiter;
          this.roomWaiter = undefined;
          wake();
        }
      }
    } catch (err) {
      this.queue.length = 0;
      this.queuedEntries = 0;
      this.host.fail(err);
    } finally {
      this.running = undefined;
      // A failure leaves nothing to wait for; release a loop held back on room.
      const wake = this.roomWaiter;
      this.roomWaiter = undefined;
      wake?.();
    }
  }
}
