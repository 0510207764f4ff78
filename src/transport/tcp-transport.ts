// The raw TCP transport (node:net): one connection per pair of peers, dialed by the peer
// with the lower id and redialed with exponential backoff while the other is down; frames
// are length-prefixed and a batch frame carries exactly the RaftBatch bytes of the gRPC
// transport (codec/), epoch included. Sockets run with Nagle off, and each link writes
// what one turn of the event loop queued in one write (tcp-peer-link.ts).
//
// Why beside gRPC: grpc-js costs ~20-45 µs of CPU per message on each side and a stream
// ping-pong ~110 µs on loopback, against ~70 µs for a raw socket: at one proposal in
// flight, that is most of the round trip.
import { createConnection, createServer, type Server, type Socket } from "node:net";
import type { Message } from "../raft/types.js";
import { listen, parseAddress } from "./address.js";
import { decodeBatch } from "./codec/decode.js";
import { BatchEncoder } from "./codec/encode.js";
import { WireFormatError } from "./errors.js";
import {
  contiguous,
  FrameKind,
  FrameReader,
  helloFrame,
  pingFrame,
  readHello,
  readPing,
} from "./tcp-frames.js";
import { TcpPeerLink, type TcpPeerLinkStats } from "./tcp-peer-link.js";
import type { Epoch, InboundBatch, Transport, TransportStats } from "./transport.js";
import { MiB, TransportCore, type TransportCoreOptions } from "./transport-core.js";

/**
 * Entry data at least this large is written from the entry's own array (gathered into the
 * socket write) instead of being copied into the batch: below it, a copy costs less than
 * one more part in the write.
 */
const MIN_GATHER_BYTES = 4096;

type BatchParts = ReturnType<BatchEncoder["encodeParts"]>;

/** maxMessageBytes bounds a batch frame; maxQueue* count frames waiting for the connection. */
export type TcpTransportOptions = TransportCoreOptions;

export class TcpTransport implements Transport {
  readonly id: number;
  readonly address: string;
  private readonly core: TransportCore<TcpPeerLink, BatchParts>;
  private readonly encoder = new BatchEncoder();
  private readonly dialers = new Map<number, Dialer>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;

  constructor(options: TcpTransportOptions) {
    this.core = new TransportCore<TcpPeerLink, BatchParts>(options, {
      newLink: (peerId, address) => this.newLink(peerId, address),
      linked: (link, address) => this.linked(link, address),
      encode: (epoch, from, group) =>
        this.encoder.encodeParts(epoch, from, group, MIN_GATHER_BYTES),
      deliver: (link, { parts, length }, messages) => link.sendBatch(parts, length, messages),
    });
    this.id = this.core.id;
    this.address = this.core.address;
  }

  async start(onBatch: (batch: InboundBatch) => void): Promise<void> {
    this.core.beginStart(onBatch);
    const { host, port } = parseAddress(this.address, "listen address");
    const server = createServer({ noDelay: true }, (socket) => this.accepted(socket));
    try {
      await listen(server, host, port);
    } catch (err) {
      server.close();
      throw this.core.listenFailed(err);
    }
    const logger = this.core.logger;
    server.on("error", (err) => logger.warn(`listener on ${this.address}: ${err.message}`));
    this.server = server;
    // Dial every peer this one is the dialing side for, so the others can send to it.
    for (const id of this.core.peers.keys()) if (id > this.id) this.core.link(id);
    this.core.startPinger(() => this.pingAll());
  }

  send(epoch: Epoch, messages: readonly Message[]): void {
    this.core.send(epoch, messages);
  }

  onUnreachable(handler: (peerId: number) => void): void {
    this.core.onUnreachable(handler);
  }

  onDisconnected(handler: (peerId: number) => void): void {
    this.core.onDisconnected(handler);
  }

  stats(): TransportStats {
    return this.core.stats();
  }

  /** One peer's link: queue depth, state. Undefined before first use. */
  linkStats(peerId: number): TcpPeerLinkStats | undefined {
    return this.core.links.get(peerId)?.stats();
  }

  async stop(): Promise<void> {
    if (!this.core.halt()) return;
    for (const dialer of this.dialers.values()) dialer.stop();
    this.core.stopLinks();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private newLink(peerId: number, address: string): TcpPeerLink {
    const core = this.core;
    return new TcpPeerLink(
      peerId,
      address,
      {
        maxQueueBytes: core.maxQueueBytes,
        maxQueueBatches: core.maxQueueBatches,
        maxDownQueueBytes: core.maxDownQueueBytes,
        maxInflightBytes: Math.max(16 * MiB, core.maxMessageBytes),
        netDelay: core.netDelay,
      },
      { ...core.countingEvents(), opened: (id) => this.ping(id) },
      core.logger,
    );
  }

  /** The lower id dials: start dialing a new link to a higher peer. */
  private linked(link: TcpPeerLink, address: string): void {
    if (link.peerId <= this.id) return;
    const { backoffInitialMs, backoffMaxMs } = this.core;
    const dialer = new Dialer(this, link, address, backoffInitialMs, backoffMaxMs);
    this.dialers.set(link.peerId, dialer);
    dialer.dial();
  }

  private pingAll(): void {
    for (const id of this.core.links.keys()) this.ping(id);
  }

  private ping(peerId: number): void {
    const link = this.core.links.get(peerId);
    if (link === undefined || !link.isOpen || this.core.pingIntervalMs === 0) return;
    link.sendControl(FrameKind.Ping, pingFrame(FrameKind.Ping, performance.now()));
  }

  /** @internal An inbound connection: it must introduce itself before anything else. */
  accepted(socket: Socket): void {
    if (this.core.stopped) {
      socket.destroy();
      return;
    }
    this.watch(socket, undefined);
  }

  /** @internal A dialed connection to `link`'s peer: say who we are, then it is the link's. */
  dialed(socket: Socket, link: TcpPeerLink): void {
    if (this.core.stopped) {
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
    const reader = new FrameReader(this.core.maxMessageBytes, (kind, body) => {
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
        if (!(err instanceof WireFormatError)) throw err;
        this.core.logger.warn(`closing the connection from ${describe(socket)}: ${err.message}`);
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

  private hello(socket: Socket, kind: number, body: readonly Uint8Array[]): TcpPeerLink {
    if (kind !== FrameKind.Hello)
      throw new WireFormatError("bad-hello", "the first frame is not a hello");
    const { from, to } = readHello(contiguous(body));
    if (to !== this.id) {
      throw new WireFormatError(
        "wrong-peer",
        `it dialed peer ${to}, but this is peer ${this.id}: check --peers`,
      );
    }
    const peers = this.core.peers;
    if (from >= this.id || !peers.has(from)) {
      throw new WireFormatError(
        "wrong-peer",
        `peer ${from} is not a peer that dials peer ${this.id} (ids ${[...peers.keys()].join(", ")}): check --peers`,
      );
    }
    const link = this.core.link(from)!;
    link.attach(socket);
    return link;
  }

  private frame(
    link: TcpPeerLink,
    socket: Socket,
    kind: number,
    body: readonly Uint8Array[],
  ): void {
    switch (kind) {
      case FrameKind.Batch: {
        let batch: InboundBatch;
        try {
          batch = decodeBatch(body.length === 1 ? body[0]! : body);
        } catch (err) {
          if (err instanceof WireFormatError) throw err;
          // Anything else the decoder throws also means these bytes are not a batch.
          throw new WireFormatError(
            "malformed-batch",
            err instanceof Error ? err.message : String(err),
          );
        }
        this.core.deliver(batch);
        return;
      }
      case FrameKind.Ping:
        link.sendControl(FrameKind.Pong, pingFrame(FrameKind.Pong, readPing(contiguous(body))));
        return;
      case FrameKind.Pong:
        this.core.recordPong(readPing(contiguous(body)));
        return;
      default:
        throw new WireFormatError(
          "bad-frame",
          `a frame of unknown kind ${kind} from ${describe(socket)}`,
        );
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
    const socket = createConnection({ host, port, noDelay: true });
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
