// Virtual time for the whole-node simulator: one queue of timed events for every node, the
// network and the disks, run one at a time in (time, sequence) order. Each node's life gets
// its own Scheduler view over the queue; a crash ends the life, and every timer, turn and
// disk completion it still had pending is dropped, as a killed process's would be.
import type { Scheduler, TimerHandle } from "../units/clock.js";

interface SimEvent {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
  /** Dropped when this life has ended (undefined: the world's own event). */
  life: Life | undefined;
}

/** One run of one node, from start to crash or stop. */
export class Life {
  alive = true;

  constructor(
    readonly node: number,
    readonly n: number,
  ) {}
}

/** A binary min-heap of events by (at, seq). */
class EventHeap {
  private readonly items: SimEvent[] = [];

  get size(): number {
    return this.items.length;
  }

  push(e: SimEvent): void {
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  pop(): SimEvent | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last !== undefined) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l]!, a[m]!)) m = l;
        if (r < a.length && before(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: SimEvent, b: SimEvent): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export class VirtualTime {
  private readonly heap = new EventHeap();
  private seq = 0;
  /** Virtual milliseconds. */
  now = 0;
  /** Events run so far (the simulator's steps). */
  steps = 0;

  /** Runs `fn` at `now + delayMs`; nothing of `life` runs once the life has ended. */
  schedule(delayMs: number, fn: () => void, life?: Life): { cancelled: boolean } {
    const e: SimEvent = {
      at: this.now + Math.max(0, delayMs),
      seq: this.seq++,
      fn,
      cancelled: false,
      life,
    };
    this.heap.push(e);
    return e;
  }

  /** Runs the next live event; false when none is left. */
  runNext(): boolean {
    for (;;) {
      const e = this.heap.pop();
      if (e === undefined) return false;
      if (e.cancelled || (e.life !== undefined && !e.life.alive)) continue;
      this.now = e.at;
      this.steps++;
      e.fn();
      return true;
    }
  }

  /** The Scheduler a node's life runs on: the Peer, its pipeline and its storage take it. */
  schedulerFor(life: Life): Scheduler {
    return {
      now: () => this.now,
      setTimeout: (fn, ms) => this.schedule(ms, fn, life) as unknown as TimerHandle,
      clearTimeout: (handle) => {
        (handle as unknown as { cancelled: boolean }).cancelled = true;
      },
      // A later turn at the same virtual time: after everything already due now.
      soon: (fn) => {
        this.schedule(0, fn, life);
      },
    };
  }
}
