// Wake-ups at sub-millisecond precision without busy-waiting, for the delay lines of
// --net-delay.
//
// Node's timers count in whole milliseconds of a loop clock that is read once per loop
// turn: measured here, setTimeout(1) fires 1.1 ms later when idle, but as early as 0.2 ms
// under load (the cached clock is stale), and a 0.2 ms remainder costs a whole extra
// millisecond. A worker thread sleeping in Atomics.wait (a futex with a sub-millisecond
// timeout) and then posting a message wakes the event loop within ~0.1 ms of the target,
// idle or busy, and costs one message per wake-up, not one per delayed message.
//
// One clock serves every delay line of the process; the worker exists only while some
// line uses it and never keeps the process alive.
import { Worker } from "node:worker_threads";

/** Something woken at a time it asked for; returns its next wake-up time, or undefined. */
export interface ClockClient {
  /** Called at (or shortly after) the requested time with performance.now(). */
  wake(nowMs: number): number | undefined;
}

// Control block shared with the worker: [0] a sequence number bumped on every new target,
// [1] the target as microseconds since the Unix epoch (0: none), as a BigInt64.
const WORKER_SOURCE = `
const { workerData, parentPort } = require("node:worker_threads");
const seq = new Int32Array(workerData, 0, 1);
const target = new BigInt64Array(workerData, 8, 1);
for (;;) {
  const s = Atomics.load(seq, 0);
  const due = Number(Atomics.load(target, 0));
  if (due === 0) { Atomics.wait(seq, 0, s); continue; }
  const waitMs = (due - (performance.timeOrigin + performance.now()) * 1000) / 1000;
  if (waitMs > 0) { Atomics.wait(seq, 0, s, waitMs); continue; }
  Atomics.compareExchange(target, 0, BigInt(due), 0n);
  parentPort.postMessage(0);
}
`;

/**
 * Wakes early by this much and lets clients release what is due within it: the worker's
 * message takes about this long to reach the event loop.
 */
export const CLOCK_LEAD_MS = 0.05;

class DelayClock {
  private readonly shared = new SharedArrayBuffer(16);
  private readonly seq = new Int32Array(this.shared, 0, 1);
  private readonly target = new BigInt64Array(this.shared, 8, 1);
  private readonly worker: Worker;
  /** Clients and their next wake-up (performance.now() milliseconds). */
  private readonly due = new Map<ClockClient, number>();
  private armedAt = Number.POSITIVE_INFINITY;

  constructor() {
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: this.shared });
    this.worker.unref();
    this.worker.on("message", () => this.fire());
    this.worker.on("error", (err) => {
      throw err;
    });
  }

  /** Asks for `client.wake` at `atMs` (performance.now() time); an earlier request stands. */
  schedule(client: ClockClient, atMs: number): void {
    const current = this.due.get(client);
    if (current !== undefined && current <= atMs) return;
    this.due.set(client, atMs);
    if (atMs < this.armedAt) this.arm(atMs);
  }

  cancel(client: ClockClient): void {
    this.due.delete(client);
  }

  get clients(): number {
    return this.due.size;
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }

  private fire(): void {
    this.armedAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const [client, at] of this.due) {
      if (at - CLOCK_LEAD_MS > now) {
        next = Math.min(next, at);
        continue;
      }
      const again = client.wake(now);
      if (again === undefined) this.due.delete(client);
      else {
        this.due.set(client, again);
        next = Math.min(next, again);
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.arm(next);
  }

  private arm(atMs: number): void {
    this.armedAt = atMs;
    const epochUs = Math.round((performance.timeOrigin + atMs - CLOCK_LEAD_MS) * 1000);
    Atomics.store(this.target, 0, BigInt(Math.max(1, epochUs)));
    Atomics.add(this.seq, 0, 1);
    Atomics.notify(this.seq, 0);
  }
}

let clock: DelayClock | undefined;
let users = 0;

/** The process's clock; each acquire is paired with one release. */
export function acquireClock(): Pick<DelayClock, "schedule" | "cancel"> {
  clock ??= new DelayClock();
  users++;
  return clock;
}

/** Stops the worker once the last user is gone. */
export function releaseClock(): void {
  if (users === 0) return;
  users--;
  if (users === 0 && clock !== undefined) {
    const done = clock;
    clock = undefined;
    void done.close();
  }
}
