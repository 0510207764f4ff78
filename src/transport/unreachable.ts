// Reports unreachable (or disconnected) peers to the transport's handler outside the
// caller's stack: a Raft node that sends from inside its loop must not be re-entered by its
// own send, and a burst of drops to one peer becomes one report per turn of the event loop.
import { realScheduler, type Scheduler } from "../units/clock.js";

export class UnreachableReporter {
  private handler: ((peerId: number) => void) | undefined;
  private readonly pending = new Set<number>();
  private scheduled = false;

  /** `sched.soon` is the later turn the reports are made in (virtual in the simulator). */
  constructor(private readonly sched: Scheduler = realScheduler) {}

  setHandler(handler: (peerId: number) => void): void {
    this.handler = handler;
  }

  report(peerId: number): void {
    if (this.handler === undefined) return;
    this.pending.add(peerId);
    if (!this.scheduled) {
      this.scheduled = true;
      this.sched.soon(() => this.flush());
    }
  }

  /** Forgets reports not yet delivered (on stop). */
  clear(): void {
    this.pending.clear();
  }

  private flush(): void {
    this.scheduled = false;
    const handler = this.handler;
    if (handler === undefined) return;
    const ids = [...this.pending];
    this.pending.clear();
    for (const id of ids) handler(id);
  }
}
