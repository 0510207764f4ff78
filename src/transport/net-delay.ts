// --net-delay: a one-way delay added to every link by the transport itself (this machine's
// kernel has no netem qdisc, so the delay cannot live in the network). Each link gets a
// DelayLine that holds what the transport would have written and hands it on once its
// time has come, in the order it was given: jitter varies the delay but never reorders a
// link, as on one TCP connection. Lines are woken by the shared delay clock, one wake-up
// for everything due together, never a timer per message.

import { acquireClock, CLOCK_LEAD_MS, type ClockClient, releaseClock } from "./delay-clock.js";
import { TransportError } from "./errors.js";

/** A one-way delay with uniform jitter: each item waits delayMs ± jitterMs. */
export interface NetDelay {
  delayMs: number;
  jitterMs: number;
}

export const NO_NET_DELAY: NetDelay = { delayMs: 0, jitterMs: 0 };

export function hasDelay(delay: NetDelay | undefined): delay is NetDelay {
  return delay !== undefined && (delay.delayMs > 0 || delay.jitterMs > 0);
}

/**
 * Parses `D` or `D±J` (also `D+-J`), each a duration parsed by `parseDuration`, e.g.
 * "1ms", "1ms±200us". Throws an Error whose message says what a valid value looks like.
 */
export function parseNetDelay(text: string, parseDuration: (text: string) => number): NetDelay {
  const parts = text.split(/±|\+-/);
  if (parts.length > 2) {
    throw new TransportError(
      "bad-delay",
      `"${text}" has more than one ±: write a delay and a jitter, e.g. 1ms±200us`,
    );
  }
  // split() returns at least one part: the whole text when it holds no ±.
  const [delayText = "", jitterText] = parts;
  const delayMs = parseDuration(delayText);
  const jitterMs = jitterText === undefined ? 0 : parseDuration(jitterText);
  if (jitterMs > delayMs) {
    throw new TransportError(
      "bad-delay",
      `jitter ${jitterText?.trim()} is larger than the delay ${delayText.trim()}: a delay cannot go below 0, e.g. 1ms±200us`,
    );
  }
  return { delayMs, jitterMs };
}

/** The flag's value as written back for messages: "1ms", "1ms±0.2ms". */
export function formatNetDelay(delay: NetDelay): string {
  const ms = (v: number) => `${Number(v.toPrecision(6))}ms`;
  return delay.jitterMs > 0 ? `${ms(delay.delayMs)}±${ms(delay.jitterMs)}` : ms(delay.delayMs);
}

/**
 * One link's delay: `push` never blocks and never delivers inside the caller's stack;
 * `deliver` receives, in push order, every item whose time has come, in one call per
 * wake-up (so the transport writes them with one socket write).
 */
export class DelayLine<T> implements ClockClient {
  private items: T[] = [];
  private dues: number[] = [];
  private head = 0;
  private lastDue = 0;
  private readonly clock = acquireClock();
  private closed = false;

  constructor(
    private readonly delay: NetDelay,
    private readonly deliver: (items: T[]) => void,
    private readonly random: () => number = Math.random,
  ) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    if (this.closed) return;
    const jitter = this.delay.jitterMs * (2 * this.random() - 1);
    // FIFO: never due before the item ahead of it.
    const due = Math.max(this.lastDue, performance.now() + this.delay.delayMs + jitter);
    this.lastDue = due;
    this.items.push(item);
    this.dues.push(due);
    if (this.length === 1) this.clock.schedule(this, due);
  }

  wake(nowMs: number): number | undefined {
    if (this.closed) return undefined;
    const limit = nowMs + CLOCK_LEAD_MS;
    let end = this.head;
    while (end < this.items.length && this.dues[end]! <= limit) end++;
    if (end === this.head) return this.length > 0 ? this.dues[this.head] : undefined;
    const ready = this.items.slice(this.head, end);
    if (end === this.items.length) {
      this.items = [];
      this.dues = [];
      this.head = 0;
    } else {
      this.head = end;
      if (this.head > 1024 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.dues = this.dues.slice(this.head);
        this.head = 0;
      }
    }
    this.deliver(ready);
    return this.length > 0 ? this.dues[this.head] : undefined;
  }

  /** Drops what waits and lets go of the clock. */
  close(): T[] {
    if (this.closed) return [];
    this.closed = true;
    const left = this.items.slice(this.head);
    this.items = [];
    this.dues = [];
    this.head = 0;
    this.clock.cancel(this);
    releaseClock();
    return left;
  }
}
