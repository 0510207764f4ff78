// An in-process transport for tests and single-process runs. A LocalNetwork connects the
// transports of one process; delivery is asynchronous (never inside the sender's send())
// and in order per link. Links can be cut and nodes isolated: a batch that meets a cut
// link, an isolated node or a stopped peer, when sent or when delivered, is dropped,
// counted, and reported through onUnreachable.
import type { Message } from "../raft/types.js";
import { realScheduler, type Scheduler } from "../units/clock.js";
import { decodeBatch } from "./codec/decode.js";
import { BatchEncoder } from "./codec/encode.js";
import { TransportError } from "./errors.js";
import { groupByDestination } from "./group.js";
import type { Epoch, InboundBatch, Transport, TransportStats } from "./transport.js";
import { UnreachableReporter } from "./unreachable.js";

export interface LocalNetworkOptions {
  /**
   * Send every batch through the wire codec, so receivers get fresh objects exactly as
   * over gRPC (and local-only fields are cleared). Off by default: handing the objects
   * over is faster, and the sender must then not mutate messages after sending them.
   */
  viaCodec?: boolean;
  /** The turns deliveries and unreachable reports run in. Default: Node's setImmediate. */
  scheduler?: Scheduler;
}

interface InFlight {
  from: LocalTransport;
  to: number;
  batch: InboundBatch;
}

export class LocalNetwork {
  private readonly transports = new Map<number, LocalTransport>();
  private readonly cutLinks = new Set<string>();
  private readonly isolated = new Set<number>();
  private readonly inFlight: InFlight[] = [];
  private deliveryScheduled = false;
  readonly viaCodec: boolean;
  /** @internal */
  readonly scheduler: Scheduler;

  constructor(options: LocalNetworkOptions = {}) {
    this.viaCodec = options.viaCodec ?? false;
    this.scheduler = options.scheduler ?? realScheduler;
  }

  /** The transport of node `id`; one per id. */
  transport(id: number): LocalTransport {
    if (!Number.isSafeInteger(id) || id <= 0) {
      throw new RangeError(`node id must be a positive integer, got ${id}`);
    }
    // A stopped transport's id may be taken again: a node restarted in the same process.
    if (this.transports.get(id)?.isStopped === false) {
      throw new TransportError("duplicate-node", `node ${id} already has a transport`);
    }
    const t = new LocalTransport(this, id);
    this.transports.set(id, t);
    return t;
  }

  /** Stops delivery from `from` to `to` (one direction). */
  cutLink(from: number, to: number): void {
    this.cutLinks.add(linkKey(from, to));
  }

  healLink(from: number, to: number): void {
    this.cutLinks.delete(linkKey(from, to));
  }

  /** Cuts both directions between `a` and `b`. */
  cut(a: number, b: number): void {
    this.cutLink(a, b);
    this.cutLink(b, a);
  }

  heal(a: number, b: number): void {
    this.healLink(a, b);
    this.healLink(b, a);
  }

  /** Cuts every link to and from `id`. */
  isolate(id: number): void {
    this.isolated.add(id);
  }

  rejoin(id: number): void {
    this.isolated.delete(id);
  }

  /** Heals every cut link and isolation. */
  healAll(): void {
    this.cutLinks.clear();
    this.isolated.clear();
  }

  /** Whether a batch from `from` to `to` would be delivered now. */
  reachable(from: number, to: number): boolean {
    if (this.isolated.has(from) || this.isolated.has(to)) return false;
    if (this.cutLinks.has(linkKey(from, to))) return false;
    return this.transports.get(to)?.receiving === true;
  }

  /** @internal Queues one batch for asynchronous delivery. */
  enqueue(from: LocalTransport, to: number, batch: InboundBatch): void {
    this.inFlight.push({ from, to, batch });
    if (!this.deliveryScheduled) {
      this.deliveryScheduled = true;
      // A later turn (setImmediate) rather than a microtask: two nodes answering each other
      // must not starve timers and I/O.
      this.scheduler.soon(() => this.deliver());
    }
  }

  private deliver(): void {
    this.deliveryScheduled = false;
    const batches = this.inFlight.splice(0);
    for (const { from, to, batch } of batches) {
      const target = this.transports.get(to);
      if (target === undefined || !this.reachable(from.id, to)) {
        from.dropped(to, batch.messages.length);
        continue;
      }
      target.receive(this.viaCodec ? decodeBatch(from.encode(batch)) : batch);
    }
  }
}

function linkKey(from: number, to: number): string {
  return `${from}>${to}`;
}

export class LocalTransport implements Transport {
  private onBatch: ((batch: InboundBatch) => void) | undefined;
  private stopped = false;
  private readonly unreachable: UnreachableReporter;
  private readonly counters: TransportStats = { dropped: 0, sentBatches: 0, sentMessages: 0 };
  // Made on first use: only a network that runs batches through the codec needs one.
  private encoder: BatchEncoder | undefined;

  constructor(
    private readonly network: LocalNetwork,
    readonly id: number,
  ) {
    this.unreachable = new UnreachableReporter(network.scheduler);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** @internal True while started and not stopped. */
  get receiving(): boolean {
    return this.onBatch !== undefined && !this.stopped;
  }

  start(onBatch: (batch: InboundBatch) => void): Promise<void> {
    if (this.stopped)
      return Promise.reject(
        new TransportError("stopped", `transport of node ${this.id} is stopped`),
      );
    if (this.onBatch !== undefined) {
      return Promise.reject(
        new TransportError("already-started", `transport of node ${this.id} is already started`),
      );
    }
    this.onBatch = onBatch;
    return Promise.resolve();
  }

  send(epoch: Epoch, messages: readonly Message[]): void {
    if (this.stopped || messages.length === 0) return;
    for (const [to, group] of groupByDestination(messages)) {
      if (!this.network.reachable(this.id, to)) {
        this.dropped(to, group.length);
        continue;
      }
      this.counters.sentBatches++;
      this.counters.sentMessages += group.length;
      this.network.enqueue(this, to, { epoch: { ...epoch }, from: this.id, messages: group });
    }
  }

  onUnreachable(handler: (peerId: number) => void): void {
    this.unreachable.setHandler(handler);
  }

  stats(): TransportStats {
    return { ...this.counters };
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.unreachable.clear();
    return Promise.resolve();
  }

  /** @internal */
  dropped(to: number, count: number): void {
    this.counters.dropped += count;
    if (!this.stopped) this.unreachable.report(to);
  }

  /** @internal This transport's batch as the wire carries it, by its own encoder. */
  encode(batch: InboundBatch): Uint8Array {
    this.encoder ??= new BatchEncoder();
    return this.encoder.encode(batch.epoch, batch.from, batch.messages);
  }

  /** @internal */
  receive(batch: InboundBatch): void {
    this.onBatch?.(batch);
  }
}
