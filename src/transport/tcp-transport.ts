// The raw TCP transport (node:net): one connection per pair of peers, dialed by the peer
// with the lower id and redialed with exponential backoff while the other is down; frames
// are length-prefixed and a batch frame carries exactly the RaftBatch bytes of the gRPC
// transport (codec.ts), epoch included. Sockets run with Nagle off, and each link writes
// what one turn of the event loop queued in one write (tcp-peer-link.ts).
//
// Why beside gRPC: grpc-js costs ~20-45 µs of CPU per message on each side and a stream
// ping-pong ~110 µs on loopback, against ~70 µs for a raw socket: at one proposal in
// flight, that is most of the round trip.
import { createConnection, createServer, type Server, type Socket } from "node:net";
import type { Message } from "../raft/types.js";
import { checkPeers, checkPositive, parseAddress, socketHost } from "./address.js";
import { decodeBatch, encodeBatchParts } from "./codec.js";
import { groupByDestination } from "./group.js";
import type { Logger } from "./grpc-peer-link.js";
import { LinkLatency, PING_INTERVAL_MS } from "./link-latency.js";
import type { NetDelay } from "./net-delay.js";
import {
  FrameError,
  FrameKind,
  FrameReader,
  helloFrame,
  pingFrame,
  readHello,
  readPing,
} from "./tcp-frames.js";
import { TcpPeerLink, type TcpPeerLinkStats } from "./tcp-peer-link.js";
import type { Epoch, InboundBatch, Transport, TransportStats } from "./transport.js";
import { UnreachableReporter } from "./unreachable.js";

const MiB = 1024 * 1024;

/**
 * Entry data at least this large is written from the entry's own array (gathered into the
 * socket write) instead of being copied into the batch: below it, a copy costs less than
 * one more part in the write.
 */
const MIN_GATHER_BYTES = 4096;

export interface TcpTransportOptions {
  /** This peer's id; `peers` must map it to the address to listen on. */
  id: number;
  /** Every peer's id and `host:port`, this one included. */
  peers: ReadonlyMap<number, string>;
  /** Largest batch frame sent or accepted (default 64 MiB); larger sends are split. */
  maxMessageBytes?: number;
  /** Per peer: bytes of frames that may wait for the connection before batches are dropped. */
  maxQueueBytes?: number;
  /** Per peer: frames that may wait for the connection before batches are dropped. */
  maxQueueBatches?: number;
  /** Redial backoff while a peer is down, doubling from the first to the last. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** One-way delay added to every frame this peer sends (--net-delay). */
  netDelay?: NetDelay;
  /** Ping period per link for TransportStats.oneWayP50Ns; 0 turns pings off. */
  pingIntervalMs?: number;
  logger?: Logger;
}

const consoleLogger: Logger = {
  info: (message) => console.error(`transport: ${message}`),
  warn: (message) => console.error(`transport: warning: ${message}`),
};

export class TcpTransport implements Transport {
  readonly id: number;
  readonly address: string;
  private readonly peers: ReadonlyMap<number, string>;
  private readonly maxMessageBytes: number;
  private readonly maxQueueBytes: number;
  private readonly maxQueueBatches: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly pingIntervalMs: number;
  private readonly netDelay: NetDelay | undefined;
  private readonly logger: Logger;
  private readonly links = new Map<number, TcpPeerLink>();
  private readonly dialers = new Map<number, Dialer>();
  private readonly sockets = new Set<Socket>();
  private readonly unreachable = new UnreachableReporter();
  private readonly warnedUnknown = new Set<number>();
  private readonly latency = new LinkLatency();
  private readonly counters: TransportStats = { dropped: 0, sentBatches: 0, sentMessages: 0 };
  private server: Server | undefined;
  private pinger: NodeJS.Timeout | undefined;
  private onBatch: ((batch: InboundBatch) => void) | undefined;
  private stopped = false;

  constructor(options: TcpTransportOptions) {
    this.address = checkPeers(options.id, options.peers);
    this.id = options.id;
    this.peers = options.peers;
    this.maxMessageBytes = checkPositive(options.maxMessageBytes ?? 64 * MiB, "maxMessageBytes");
    this.maxQueueBytes = checkPositive(
      options.maxQueueBytes ?? Math.max(64 * MiB, this.maxMessageBytes),
      "maxQueueBytes",
    );
    this.maxQueueBatches = checkPositive(options.maxQueueBatches ?? 4096, "maxQueueBatches");
    this.backoffInitialMs = checkPositive(options.backoffInitialMs ?? 50, "backoffInitialMs");
    this.backoffMaxMs = checkPositive(options.backoffMaxMs ?? 2000, "backoffMaxMs");
    this.pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
    this.netDelay = options.netDelay;
    this.logger = options.logger ?? consoleLogger;
  }

  async start(onBatch: (batch: InboundBatch) => void): Promise<void> {
    if (this.stopped) throw new Error(`transport of peer ${this.id} is stopped`);
    if (this.onBatch !== undefined) throw new Error(`transport of peer ${this.id} already started`);
    this.onBatch = onBatch;
    const { host, port } = parseAddress(this.address, "listen address");
    const server = createServer({ noDelay: true }, (socket) => this.accepted(socket));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, socketHost(host), () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (err) {
      server.close();
      this.onBatch = undefined;
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(
        `peer ${this.id} cannot listen on ${this.address} (${reason}): free the port or give this peer another address`,
      );
    }
    server.on("error", (err) => this.logger.warn(`listener on ${this.address}: ${err.message}`));
    this.server = server;
    // Dial every peer this one is the dialing side for, so the others can send to it.
    for (const id of this.peers.keys()) if (id > this.id) this.link(id);
    if (this.pingIntervalMs > 0) {
      this.pinger = setInterval(() => this.pingAll(), this.pingIntervalMs);
      this.pinger.unref();
    }
  }

  send(epoch: Epoch, messages: readonly Message[]): void {
    if (messages.length === 0) return;
    for (const [to, group] of groupByDestination(messages)) {
      const link = this.stopped ? undefined : this.link(to);
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

  stats(): TransportStats {
    const stats: TransportStats = { ...this.counters };
    const p50 = this.latency.p50Ns();
    if (p50 !== undefined) stats.oneWayP50Ns = p50;
    return stats;
  }

  /** One peer's link: queue depth, state. Undefined before first use. */
  linkStats(peerId: number): TcpPeerLinkStats | undefined {
    return this.links.get(peerId)?.stats();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unreachable.clear();
    if (this.pinger !== undefined) clearInterval(this.pinger);
    for (const dialer of this.dialers.values()) dialer.stop();
    for (const link of this.links.values()) link.stop();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private drop(to: number, messages: number): void {
    this.counters.dropped += messages;
    this.unreachable.report(to);
  }

  /** Encodes one destination's batch once; splits it if it exceeds maxMessageBytes. */
  private sendGroup(link: TcpPeerLink, epoch: Epoch, group: readonly Message[]): void {
    const { parts, length } = encodeBatchParts(epoch, this.id, group, MIN_GATHER_BYTES);
    if (length > this.maxMessageBytes) {
      if (group.length === 1) {
        this.logger.warn(
          `dropping a ${length}-byte message to peer ${link.peerId}: larger than maxMessageBytes=${this.maxMessageBytes}`,
        );
        this.drop(link.peerId, 1);
        return;
      }
      const half = group.length >>> 1;
      this.sendGroup(link, epoch, group.slice(0, half));
      this.sendGroup(link, epoch, group.slice(half));
      return;
    }
    link.sendBatch(parts, length, group.length);
  }

  private link(peerId: number): TcpPeerLink | undefined {
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
    const link = new TcpPeerLink(
      peerId,
      address,
      {
        maxQueueBytes: this.maxQueueBytes,
        maxQueueBatches: this.maxQueueBatches,
        maxInflightBytes: Math.max(16 * MiB, this.maxMessageBytes),
        netDelay: this.netDelay,
      },
      {
        dropped: (_id, count) => {
          this.counters.dropped += count;
        },
        written: (batches, count) => {
          this.counters.sentBatches += batches;
          this.counters.sentMessages += count;
        },
        unreachable: (id) => this.unreachable.report(id),
        opened: (id) => this.ping(id),
      },
      this.logger,
    );
    this.links.set(peerId, link);
    if (peerId > this.id) {
      const dialer = new Dialer(this, link, address, this.backoffInitialMs, this.backoffMaxMs);
      this.dialers.set(peerId, dialer);
      dialer.dial();
    }
    return link;
  }

  private pingAll(): void {
    for (const id of this.links.keys()) this.ping(id);
  }

  private ping(peerId: number): void {
    const link = this.links.get(peerId);
    if (link === undefined || !link.isOpen || this.pingIntervalMs === 0) return;
    link.sendControl(FrameKind.Ping, pingFrame(FrameKind.Ping, performance.now()));
  }

  /** @internal An inbound connection: it must introduce itself before anything else. */
  accepted(socket: Socket): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    this.watch(socket, undefined);
  }

  /** @internal A dialed connection to `link`'s peer: say who we are, then it is the link's. */
  dialed(socket: Socket, link: TcpPeerLink): void {
    if (this.stopped) {
      socket.destroy();
      return;
    }
    socket.write(helloFrame(this.id, link.peerId));
    this.watch(socket, link);
    link.attach(socket);
  }

  /** Reads frames from `socket`; `link` is undefined until an inbound peer said hello. */
  private watch(socket: Socket, dialedLink: TcpPeerLink | undefined): void {
    this.sockets.add(socket);
    socket.setNoDelay(true);
    // Notices a peer machine that vanished without closing the connection.
    socket.setKeepAlive(true, 10_000);
    let link = dialedLink;
    const reader = new FrameReader(this.maxMessageBytes, (kind, body) => {
      if (link === undefined) {
        link = this.hello(socket, kind, body);
        return;
      }
      this.frame(link, socket, kind, body);
    });
    socket.on("data", (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        if (!(err instanceof FrameError)) throw err;
        this.logger.warn(`closing the connection from ${describe(socket)}: ${err.message}`);
        socket.destroy();
      }
    });
    let reason = "connection closed";
    socket.on("error", (err) => {
      reason = err.message;
    });
    socket.on("close", () => {
      this.sockets.delete(socket);
      if (link === undefined) return;
      if (link.detach(socket, reason)) this.dialers.get(link.peerId)?.lost();
    });
  }

  private hello(socket: Socket, kind: number, body: Uint8Array): TcpPeerLink {
    if (kind !== FrameKind.Hello) throw new FrameError("the first frame is not a hello");
    const { from, to } = readHello(body);
    if (to !== this.id) {
      throw new FrameError(`it dialed peer ${to}, but this is peer ${this.id}: check --peers`);
    }
    if (from >= this.id || !this.peers.has(from)) {
      throw new FrameError(
        `peer ${from} is not a peer that dials peer ${this.id} (ids ${[...this.peers.keys()].join(", ")}): check --peers`,
      );
    }
    const link = this.link(from)!;
    link.attach(socket);
    return link;
  }

  private frame(link: TcpPeerLink, socket: Socket, kind: number, body: Uint8Array): void {
    switch (kind) {
      case FrameKind.Batch: {
        let batch: InboundBatch;
        try {
          batch = decodeBatch(body);
        } catch (err) {
          throw new FrameError(err instanceof Error ? err.message : String(err));
        }
        try {
          this.onBatch?.(batch);
        } catch (err) {
          // The handler's own failure: surface it outside the socket's callback.
          queueMicrotask(() => {
            throw err;
          });
        }
        return;
      }
      case FrameKind.Ping:
        link.sendControl(FrameKind.Pong, pingFrame(FrameKind.Pong, readPing(body)));
        return;
      case FrameKind.Pong:
        this.latency.recordPong(readPing(body), performance.now());
        return;
      default:
        throw new FrameError(`a frame of unknown kind ${kind} from ${describe(socket)}`);
    }
  }
}

function describe(socket: Socket): string {
  return `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
}

/** Dials one peer, and again with exponential backoff whenever the connection is lost. */
class Dialer {
  private backoffMs: number;
  private timer: NodeJS.Timeout | undefined;
  private pending: Socket | undefined;
  private stopped = false;

  constructor(
    private readonly transport: TcpTransport,
    private readonly link: TcpPeerLink,
    private readonly address: string,
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {
    this.backoffMs = initialMs;
  }

  dial(): void {
    if (this.stopped || this.pending !== undefined) return;
    const { host, port } = parseAddress(this.address, `address of peer ${this.link.peerId}`);
    const socket = createConnection({ host: socketHost(host), port, noDelay: true });
    this.pending = socket;
    const failed = (err: Error) => {
      if (this.pending !== socket) return;
      this.pending = undefined;
      socket.destroy();
      this.link.detach(socket, err.message);
      this.link.failedDial(err.message);
      this.retry();
    };
    socket.once("error", failed);
    socket.once("connect", () => {
      socket.off("error", failed);
      if (this.pending !== socket) return;
      this.pending = undefined;
      this.backoffMs = this.initialMs;
      this.transport.dialed(socket, this.link);
    });
  }

  /** The link's connection ended: dial again after the backoff. */
  lost(): void {
    this.retry();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.pending?.destroy();
    this.pending = undefined;
  }

  private retry(): void {
    if (this.stopped || this.timer !== undefined) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.maxMs);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.dial();
    }, delay);
    this.timer.unref();
  }
}
