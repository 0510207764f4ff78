// The simulated network: one inbox per node, filled by send() and drained one message at a
// time by the scheduler. Faults are applied here: loss, duplication, delay and reordering,
// and partitions (a set of blocked one-way links). Every random choice comes from the
// simulator's generator, so a seed replays the same deliveries.
import type { SeededRng } from "../rng.js";
import type { Message } from "../types.js";

export interface NetworkFaults {
  /** Probability that a message is lost. */
  drop: number;
  /** Probability that a message is delivered twice. */
  dup: number;
  /** Probability that a message is held back for a while. */
  delay: number;
  /** Longest hold-back, in steps. */
  maxDelay: number;
  /** Deliver any of the first `reorderWindow` due messages instead of the oldest. */
  reorderWindow: number;
}

export const NO_NETWORK_FAULTS: NetworkFaults = {
  drop: 0,
  dup: 0,
  delay: 0,
  maxDelay: 0,
  reorderWindow: 1,
};

interface InFlight {
  msg: Message;
  /** First step at which it may be delivered. */
  dueAt: number;
}

export class SimNetwork {
  private readonly inboxes = new Map<number, InFlight[]>();
  private readonly blocked = new Set<number>();
  faults: NetworkFaults = NO_NETWORK_FAULTS;
  /** Messages handed to send(), including lost ones. */
  sent = 0;
  dropped = 0;

  constructor(
    ids: readonly number[],
    private readonly rng: SeededRng,
  ) {
    for (const id of ids) this.inboxes.set(id, []);
  }

  private static link(from: number, to: number): number {
    return from * 0x10000 + to;
  }

  block(from: number, to: number): void {
    this.blocked.add(SimNetwork.link(from, to));
  }

  healAll(): void {
    this.blocked.clear();
  }

  isBlocked(from: number, to: number): boolean {
    return this.blocked.has(SimNetwork.link(from, to));
  }

  get partitioned(): boolean {
    return this.blocked.size > 0;
  }

  /**
   * Queues a message. Returns "blocked" when a partition cut the link (a sender's transport
   * notices that), "lost" when it vanished silently, "queued" otherwise.
   */
  send(m: Message, now: number): "queued" | "lost" | "blocked" {
    this.sent++;
    const inbox = this.inboxes.get(m.to);
    if (inbox === undefined) throw new Error(`network: message to unknown node ${m.to}`);
    if (this.isBlocked(m.from, m.to)) {
      this.dropped++;
      return "blocked";
    }
    const f = this.faults;
    if (f.drop > 0 && this.rng.float() < f.drop) {
      this.dropped++;
      return "lost";
    }
    inbox.push({ msg: m, dueAt: this.dueAt(now) });
    if (f.dup > 0 && this.rng.float() < f.dup) {
      // A copy, so that a core which annotates a received message cannot affect the twin.
      inbox.push({ msg: { ...m }, dueAt: this.dueAt(now) });
    }
    return "queued";
  }

  private dueAt(now: number): number {
    const f = this.faults;
    if (f.delay > 0 && this.rng.float() < f.delay) return now + 1 + this.rng.intn(f.maxDelay);
    return now;
  }

  /** Whether `id` has a message it may receive at step `now`. */
  hasDeliverable(id: number, now: number): boolean {
    const inbox = this.inboxes.get(id)!;
    for (let i = 0; i < inbox.length; i++) if (inbox[i]!.dueAt <= now) return true;
    return false;
  }

  /** Messages waiting for `id`, due or not. */
  queued(id: number): number {
    return this.inboxes.get(id)!.length;
  }

  /** Removes and returns the next message for `id` (oldest due, or a random one of the first due). */
  take(id: number, now: number): Message | undefined {
    const inbox = this.inboxes.get(id)!;
    const window = this.faults.reorderWindow;
    let chosen = -1;
    let seen = 0;
    for (let i = 0; i < inbox.length && seen < window; i++) {
      if (inbox[i]!.dueAt > now) continue;
      seen++;
      // Reservoir choice among the first `window` due messages.
      if (chosen < 0 || this.rng.intn(seen) === 0) chosen = i;
    }
    if (chosen < 0) return undefined;
    return inbox.splice(chosen, 1)[0]!.msg;
  }

  /** Forgets everything in flight to `id` (it crashed; its socket buffers are gone). */
  clearInbox(id: number): Message[] {
    const inbox = this.inboxes.get(id)!;
    this.dropped += inbox.length;
    const lost = inbox.map((f) => f.msg);
    inbox.length = 0;
    return lost;
  }

  /** Forgets every message `from` has in flight (a partition that also ate its socket buffers). */
  dropInFlightFrom(from: number): void {
    for (const inbox of this.inboxes.values()) {
      const kept = inbox.filter((f) => f.msg.from !== from);
      this.dropped += inbox.length - kept.length;
      inbox.length = 0;
      inbox.push(...kept);
    }
  }

  /** Messages waiting in all inboxes. */
  get inFlight(): number {
    let n = 0;
    for (const inbox of this.inboxes.values()) n += inbox.length;
    return n;
  }
}
