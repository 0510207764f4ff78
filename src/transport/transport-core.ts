// What the TCP and gRPC transports do alike, whatever the wire: option defaults, one link
// per remote peer made on first use, a send grouped per destination and split while a
// batch is too large, drop accounting and unreachable reports, the ping timer, the
// measured one-way latency, and the start/stop guards. Each transport holds one core and
// gives it a Wire: how to make a link, encode a batch and hand it to the link.
import type { Message } from "../raft/types.js";
import { checkPeers, checkPositive } from "./address.js";
import { TransportError } from "./errors.js";
import { groupByDestination } from "./group.js";
import { LinkLatency, PING_INTERVAL_MS } from "./link-latency.js";
import type { NetDelay } from "./net-delay.js";
import type {
  Epoch,
  InboundBatch,
  TransportLogger as Logger,
  TransportStats,
} from "./transport.js";
import { UnreachableReporter } from "./unreachable.js";

export const MiB = 1024 * 1024;

/**
 * Reconnect backoff while a peer is down: from 50 ms, doubling, to at most 250 ms. A peer
 * that restarts must be reached again well inside one election timeout (1 s at the
 * defaults), or the cluster runs without it (a restarted leader's old followers, a
 * follower that the leader must catch up) for no reason. In the gRPC transport the
 * channel's own reconnect backoff (set to the same bounds, jittered by 20 %) and the link's
 * run one after the other, so a restarted peer is reached within about 550 ms of
 * listening; with the former 2 s cap that was up to 4.4 s. A redial of a dead peer costs one
 * refused connect, four a second.
 */
export const BACKOFF_INITIAL_MS = 50;

/**
 * Per peer: bytes that may wait while the peer is down (not yet connected, or its
 * connection lost): 4 MiB, four MsgApps at the core's 1 MiB cap. Raft resends whatever a
 * peer needs once it answers a probe, so what waits for a dead peer is only a first message
 * to open the connection with; the old bound, the same 64 MiB as for a connected peer that
 * pushes back, let a dead peer's queue fill with stale appends that were all written out,
 * and decoded and stepped by the peer, the moment it came back. A connection that breaks
 * drops its queue for the same reason.
 */
export const DOWN_QUEUE_BYTES = 4 * MiB;
export const BACKOFF_MAX_MS = 250;

/** The options both transports take. */
export interface TransportCoreOptions {
  /** This peer's id; `peers` must map it to the address to listen on. */
  id: number;
  /** Every peer's id and `host:port`, this one included. */
  peers: ReadonlyMap<number, string>;
  /** Largest batch sent or accepted (default 64 MiB); larger sends are split. */
  maxMessageBytes?: number;
  /** Per peer: bytes of batches that may wait for the connection before batches are dropped. */
  maxQueueBytes?: number;
  /** Per peer: batches that may wait for the connection before batches are dropped. */
  maxQueueBatches?: number;
  /** Per peer: bytes that may wait while the peer is down (at most maxQueueBytes). */
  maxDownQueueBytes?: number;
  /** Reconnect backoff while a peer is down, doubling from the first to the last. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** One-way delay added to everything this peer sends, pongs included (--net-delay). */
  netDelay?: NetDelay;
  /** Ping period per link for TransportStats.oneWayP50Ns; 0 turns pings off. */
  pingIntervalMs?: number;
  logger?: Logger;
}

/** What a transport's link must offer the core. */
export interface CoreLink {
  readonly peerId: number;
  stop(): void;
}

/** The wire-specific part of a transport, as the core uses it. */
export interface Wire<L extends CoreLink, E extends { readonly length: number }> {
  /** A new link to `peerId` at `address` (called once per peer, on first use). */
  newLink(peerId: number, address: string): L;
  /** Called right after `link` is stored: e.g. start dialing. */
  linked?(link: L, address: string): void;
  /** One destination's batch, encoded once; `length` is its size in bytes. */
  encode(epoch: Epoch, from: number, group: readonly Message[]): E;
  /** Hands an encoded batch of `messages` messages to its link. */
  deliver(link: L, encoded: E, messages: number): void;
}

/** The link events the core counts; a transport adds its own (opened, pong). */
export interface CountingEvents {
  dropped(peerId: number, messages: number): void;
  written(batches: number, messages: number): void;
  unreachable(peerId: number): void;
  disconnected(peerId: number): void;
}

const consoleLogger: Logger = {
  info: (message) => console.error(`transport: ${message}`),
  warn: (message) => console.error(`transport: warning: ${message}`),
};

export class TransportCore<L extends CoreLink, E extends { readonly length: number }> {
  readonly id: number;
  readonly address: string;
  readonly peers: ReadonlyMap<number, string>;
  readonly maxMessageBytes: number;
  readonly maxQueueBytes: number;
  readonly maxQueueBatches: number;
  readonly maxDownQueueBytes: number;
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  readonly netDelay: NetDelay | undefined;
  readonly pingIntervalMs: number;
  readonly logger: Logger;
  readonly links = new Map<number, L>();
  private readonly latency = new LinkLatency();
  private readonly unreachable = new UnreachableReporter();
  private readonly disconnected = new UnreachableReporter();
  private readonly warnedUnknown = new Set<number>();
  private readonly counters: TransportStats = { dropped: 0, sentBatches: 0, sentMessages: 0 };
  private pinger: NodeJS.Timeout | undefined;
  private onBatch: ((batch: InboundBatch) => void) | undefined;
  private halted = false;

  constructor(
    options: TransportCoreOptions,
    private readonly wire: Wire<L, E>,
  ) {
    this.address = checkPeers(options.id, options.peers);
    this.id = options.id;
    this.peers = options.peers;
    this.maxMessageBytes = checkPositive(options.maxMessageBytes ?? 64 * MiB, "maxMessageBytes");
    this.maxQueueBytes = checkPositive(
      options.maxQueueBytes ?? Math.max(64 * MiB, this.maxMessageBytes),
      "maxQueueBytes",
    );
    this.maxQueueBatches = checkPositive(options.maxQueueBatches ?? 4096, "maxQueueBatches");
    this.maxDownQueueBytes = Math.min(
      this.maxQueueBytes,
      checkPositive(options.maxDownQueueBytes ?? DOWN_QUEUE_BYTES, "maxDownQueueBytes"),
    );
    this.backoffInitialMs = checkPositive(
      options.backoffInitialMs ?? BACKOFF_INITIAL_MS,
      "backoffInitialMs",
    );
    this.backoffMaxMs = checkPositive(options.backoffMaxMs ?? BACKOFF_MAX_MS, "backoffMaxMs");
    this.netDelay = options.netDelay;
    this.pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
    this.logger = options.logger ?? consoleLogger;
  }

  get stopped(): boolean {
    return this.halted;
  }

  /** Start's guards: not stopped, not started twice. Keeps the handler for `deliver`. */
  beginStart(onBatch: (batch: InboundBatch) => void): void {
    if (this.halted) throw new TransportError("stopped", `transport of peer ${this.id} is stopped`);
    if (this.onBatch !== undefined) {
      throw new TransportError("already-started", `transport of peer ${this.id} already started`);
    }
    this.onBatch = onBatch;
  }

  /** The listener could not bind: forget the handler, and say what to do about it. */
  listenFailed(err: unknown): Error {
    this.onBatch = undefined;
    const reason = err instanceof Error ? err.message : String(err);
    return new TransportError(
      "listen-failed",
      `peer ${this.id} cannot listen on ${this.address} (${reason}): free the port or give this peer another address`,
    );
  }

  /** Calls `pingAll` every pingIntervalMs (unless pings are off); stopped by `halt`. */
  startPinger(pingAll: () => void): void {
    if (this.pingIntervalMs <= 0) return;
    this.pinger = setInterval(pingAll, this.pingIntervalMs);
    this.pinger.unref();
  }

  /** Hands an inbound batch to the handler given to start. */
  deliver(batch: InboundBatch): void {
    try {
      this.onBatch?.(batch);
    } catch (err) {
      // The handler's own failure: surface it outside the wire's callback.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  send(epoch: Epoch, messages: readonly Message[]): void {
    if (messages.length === 0) return;
    for (const [to, group] of groupByDestination(messages)) {
      const link = this.halted ? undefined : this.link(to);
      if (link === undefined) {
        this.drop(to, group.length);
        continue;
      }
      this.sendGroup(link, epoch, group);
    }
  }

  onUnreachable(handler: (peerId: number) => void): void {
    this.unreachable.setHandler(handler);
  }

  onDisconnected(handler: (peerId: number) => void): void {
    this.disconnected.setHandler(handler);
  }

  stats(): TransportStats {
    const stats: TransportStats = { ...this.counters };
    const p50 = this.latency.p50Ns();
    if (p50 !== undefined) stats.oneWayP50Ns = p50;
    return stats;
  }

  /** The counting half of a link's events. */
  countingEvents(): CountingEvents {
    return {
      dropped: (_id, count) => {
        this.counters.dropped += count;
      },
      written: (batches, count) => {
        this.counters.sentBatches += batches;
        this.counters.sentMessages += count;
      },
      unreachable: (id) => this.unreachable.report(id),
      disconnected: (id) => this.disconnected.report(id),
    };
  }

  /** A pong came back for a ping sent at `sentMs` (performance.now()). */
  recordPong(sentMs: number): void {
    this.latency.recordPong(sentMs, performance.now());
  }

  /** First step of stop: false if already stopped. Links are stopped by `stopLinks`. */
  halt(): boolean {
    if (this.halted) return false;
    this.halted = true;
    this.unreachable.clear();
    this.disconnected.clear();
    if (this.pinger !== undefined) clearInterval(this.pinger);
    return true;
  }

  stopLinks(): void {
    for (const link of this.links.values()) link.stop();
  }

  /** The link to `peerId`, made on first use; undefined (warned once) for no such peer. */
  link(peerId: number): L | undefined {
    const existing = this.links.get(peerId);
    if (existing !== undefined) return existing;
    const address = this.peers.get(peerId);
    if (address === undefined || peerId === this.id) {
      if (!this.warnedUnknown.has(peerId)) {
        this.warnedUnknown.add(peerId);
        this.logger.warn(`peer ${this.id} has no link to peer ${peerId}: dropping its messages`);
      }
      return undefined;
    }
    const link = this.wire.newLink(peerId, address);
    this.links.set(peerId, link);
    this.wire.linked?.(link, address);
    return link;
  }

  private drop(to: number, messages: number): void {
    this.counters.dropped += messages;
    this.unreachable.report(to);
  }

  /** Encodes one destination's batch once; splits it if it exceeds maxMessageBytes. */
  private sendGroup(link: L, epoch: Epoch, group: readonly Message[]): void {
    const encoded = this.wire.encode(epoch, this.id, group);
    if (encoded.length > this.maxMessageBytes) {
      if (group.length === 1) {
        this.logger.warn(
          `dropping a ${encoded.length}-byte message to peer ${link.peerId}: larger than maxMessageBytes=${this.maxMessageBytes}`,
        );
        this.drop(link.peerId, 1);
        return;
      }
      const half = group.length >>> 1;
      this.sendGroup(link, epoch, group.slice(0, half));
      this.sendGroup(link, epoch, group.slice(half));
      return;
    }
    this.wire.deliver(link, encoded, group.length);
  }
}
