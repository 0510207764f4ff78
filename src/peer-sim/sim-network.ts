// The simulated network: one Transport per node life, links with their own delays, and the
// faults real transports allow. A link is FIFO, as TCP and gRPC streams are: a batch never
// overtakes an earlier one on the same link, but batches on different links interleave
// freely. A batch may be dropped (a full queue, a reconnect) and links may be cut
// (partitions); nothing is duplicated, since no real transport here duplicates. A batch in
// flight to a node that crashed meanwhile is lost with the connection.
import type { SeededRng } from "../raft/rng.js";
import type { Message } from "../raft/types.js";
import { groupByDestination } from "../transport/group.js";
import type { Epoch, InboundBatch, Transport, TransportStats } from "../transport/transport.js";
import type { Scheduler } from "../units/clock.js";
import type { Life, VirtualTime } from "./virtual-time.js";

interface Link {
  /** Delivery time of the last batch sent on the link (FIFO). */
  lastDue: number;
  baseMs: number;
  /** Until this time the link is slow (a congested path): delays are multiplied. */
  slowUntil: number;
  /** Until this time the link drops this share of batches. */
  lossyUntil: number;
  loss: number;
}

/** Hooks the simulator's checks watch. */
export interface NetworkWatch {
  /** A life sent messages (the sync-failure check refuses sends after a failed sync). */
  sent(life: Life, messages: readonly Message[]): void;
}

export class SimNetwork {
  private readonly endpoints = new Map<number, SimTransport>();
  private readonly links = new Map<string, Link>();
  private readonly cut = new Set<string>();
  batchesDelivered = 0;
  batchesDropped = 0;

  constructor(
    private readonly time: VirtualTime,
    private readonly rng: SeededRng,
    private readonly watch: NetworkWatch,
  ) {}

  /** The transport of one life of node `life.node`; it replaces the node's previous one. */
  transport(life: Life, sched: Scheduler): SimTransport {
    const t = new SimTransport(this, life, sched);
    this.endpoints.set(life.node, t);
    return t;
  }

  private link(from: number, to: number): Link {
    const key = `${from}>${to}`;
    let l = this.links.get(key);
    if (l === undefined) {
      l = {
        lastDue: 0,
        baseMs: 0.1 + this.rng.float() * 0.9,
        slowUntil: 0,
        lossyUntil: 0,
        loss: 0,
      };
      this.links.set(key, l);
    }
    return l;
  }

  /** Cuts or heals the link from `from` to `to` (one direction). */
  setCut(from: number, to: number, cut: boolean): void {
    if (cut) this.cut.add(`${from}>${to}`);
    else this.cut.delete(`${from}>${to}`);
  }

  healAll(): void {
    this.cut.clear();
    for (const l of this.links.values()) {
      l.slowUntil = 0;
      l.lossyUntil = 0;
    }
  }

  /** Makes the link from `from` to `to` slow, or lossy, for `forMs`. */
  degrade(from: number, to: number, kind: "slow" | "lossy", forMs: number): void {
    const l = this.link(from, to);
    if (kind === "slow") l.slowUntil = this.time.now + forMs;
    else {
      l.lossyUntil = this.time.now + forMs;
      l.loss = 0.05 + this.rng.float() * 0.3;
    }
  }

  isCut(from: number, to: number): boolean {
    return this.cut.has(`${from}>${to}`);
  }

  /** @internal One batch from `from` (a live transport) to node `to`. */
  send(from: SimTransport, to: number, batch: InboundBatch): boolean {
    const target = this.endpoints.get(to);
    if (this.isCut(from.life.node, to) || target === undefined || !target.receiving) {
      this.batchesDropped++;
      return false;
    }
    const now = this.time.now;
    const l = this.link(from.life.node, to);
    if (l.lossyUntil > now && this.rng.float() < l.loss) {
      // Lost after it left: the sender learns nothing, as with a reset connection.
      this.batchesDropped++;
      return true;
    }
    let delay = l.baseMs + -Math.log(1 - this.rng.float()) * 0.3;
    if (l.slowUntil > now) delay *= 20 + this.rng.intn(80);
    const due = Math.max(l.lastDue, now + delay);
    l.lastDue = due;
    this.time.schedule(due - now, () => {
      // The connection died with either end's crash, or the link was cut meanwhile.
      if (
        this.endpoints.get(to) !== target ||
        !target.receiving ||
        this.isCut(from.life.node, to)
      ) {
        this.batchesDropped++;
        return;
      }
      this.batchesDelivered++;
      target.receive(batch);
    });
    return true;
  }

  /** @internal */
  noteSent(t: SimTransport, messages: readonly Message[]): void {
    this.watch.sent(t.life, messages);
  }
}

export class SimTransport implements Transport {
  private onBatch: ((batch: InboundBatch) => void) | undefined;
  private onDown: ((peerId: number) => void) | undefined;
  private stopped = false;
  private readonly counters: TransportStats = { dropped: 0, sentBatches: 0, sentMessages: 0 };

  constructor(
    private readonly network: SimNetwork,
    readonly life: Life,
    private readonly sched: Scheduler,
  ) {}

  /** @internal */
  get receiving(): boolean {
    return this.onBatch !== undefined && !this.stopped && this.life.alive;
  }

  start(onBatch: (batch: InboundBatch) => void): Promise<void> {
    this.onBatch = onBatch;
    return Promise.resolve();
  }

  send(epoch: Epoch, messages: readonly Message[]): void {
    if (this.stopped || !this.life.alive || messages.length === 0) return;
    this.network.noteSent(this, messages);
    for (const [to, group] of groupByDestination(messages)) {
      this.counters.sentBatches++;
      this.counters.sentMessages += group.length;
      const batch = { epoch: { ...epoch }, from: this.life.node, messages: group };
      if (!this.network.send(this, to, batch)) {
        this.counters.dropped += group.length;
        const report = this.onDown;
        // Reported at a later turn, never inside the sender's send().
        if (report !== undefined) this.sched.soon(() => report(to));
      }
    }
  }

  onUnreachable(handler: (peerId: number) => void): void {
    this.onDown = handler;
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  stop(): Promise<void> {
    this.stopped = true;
    return Promise.resolve();
  }

  /** @internal */
  receive(batch: InboundBatch): void {
    this.onBatch?.(batch);
  }
}
