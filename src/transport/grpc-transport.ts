// The gRPC transport: a server on this peer's address receiving one stream per remote
// peer, and one outbound stream per remote peer (grpc-peer-link.ts). Each send groups the
// messages by destination and encodes each destination's batch once, by hand (codec.ts);
// gRPC only frames the bytes.
import type { Http2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import type { Message } from "../raft/types.js";
import { checkPeers, checkPositive } from "./address.js";
import { batchHeaderLength, decodeBatch, encodeBatch, readPing } from "./codec.js";
import { groupByDestination } from "./group.js";
import { type Logger, PeerLink, type PeerLinkStats } from "./grpc-peer-link.js";
import { type RaftServiceDefinition, raftServiceDefinition } from "./grpc-service.js";
import { LinkLatency, PING_INTERVAL_MS } from "./link-latency.js";
import { DelayLine, hasDelay, type NetDelay } from "./net-delay.js";
import type { Epoch, InboundBatch, Transport, TransportStats } from "./transport.js";
import { UnreachableReporter } from "./unreachable.js";

export { parseAddress } from "./address.js";

export type { Logger } from "./grpc-peer-link.js";

const MiB = 1024 * 1024;

export interface GrpcTransportOptions {
  /** This peer's id; `peers` must map it to the address to listen on. */
  id: number;
  /** Every peer's id and `host:port`, this one included. */
  peers: ReadonlyMap<number, string>;
  /** Largest gRPC message sent or accepted (default 64 MiB); larger batches are split. */
  maxMessageBytes?: number;
  /** Per peer: bytes of batches that may wait for the stream before new ones are dropped. */
  maxQueueBytes?: number;
  /** Per peer: batches that may wait for the stream before new ones are dropped. */
  maxQueueBatches?: number;
  /**
   * HTTP/2 flow-control window in bytes, default 16 MiB: announced by the server for
   * inbound streams, and set as the client's `grpc-node.flow_control_window`. 0 keeps the
   * HTTP/2 default of 64 KiB.
   */
  flowControlWindow?: number;
  /** Reconnect backoff while a peer is down, doubling from the first to the last. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** One-way delay added to everything this peer sends, pongs included (--net-delay). */
  netDelay?: NetDelay;
  /** Ping period per link for TransportStats.oneWayP50Ns; 0 turns pings off. */
  pingIntervalMs?: number;
  logger?: Logger;
}

const consoleLogger: Logger = {
  info: (message) => console.error(`transport: ${message}`),
  warn: (message) => console.error(`transport: warning: ${message}`),
};

/**
 * Silences grpc-js's own log lines: it prints errors (e.g. "No address added" for a port in
 * use) before the transport's one-line message about the same failure. With GRPC_VERBOSITY
 * set, grpc-js keeps logging, for debugging.
 */
export function quietGrpcLogging(): void {
  if (process.env.GRPC_VERBOSITY !== undefined) return;
  grpc.setLogVerbosity(grpc.logVerbosity.NONE);
}

export class GrpcTransport implements Transport {
  readonly id: number;
  readonly address: string;
  private readonly peers: ReadonlyMap<number, string>;
  private readonly maxMessageBytes: number;
  private readonly maxQueueBytes: number;
  private readonly maxQueueBatches: number;
  private readonly flowControlWindow: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly netDelay: NetDelay | undefined;
  private readonly pingIntervalMs: number;
  private readonly latency = new LinkLatency();
  private pinger: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  private readonly service: RaftServiceDefinition;
  private readonly links = new Map<number, PeerLink>();
  private readonly clients: grpc.Client[] = [];
  private readonly inbound = new Set<grpc.ServerDuplexStream<Uint8Array, Uint8Array>>();
  private readonly unreachable = new UnreachableReporter();
  private readonly warnedUnknown = new Set<number>();
  private readonly counters: TransportStats = { dropped: 0, sentBatches: 0, sentMessages: 0 };
  private server: grpc.Server | undefined;
  private onBatch: ((batch: InboundBatch) => void) | undefined;
  private stopped = false;
  private warnedNoWindow = false;

  constructor(options: GrpcTransportOptions) {
    this.address = checkPeers(options.id, options.peers);
    this.id = options.id;
    this.peers = options.peers;
    this.maxMessageBytes = checkPositive(options.maxMessageBytes ?? 64 * MiB, "maxMessageBytes");
    this.maxQueueBytes = checkPositive(
      options.maxQueueBytes ?? Math.max(64 * MiB, this.maxMessageBytes),
      "maxQueueBytes",
    );
    this.maxQueueBatches = checkPositive(options.maxQueueBatches ?? 4096, "maxQueueBatches");
    this.flowControlWindow = options.flowControlWindow ?? 16 * MiB;
    this.backoffInitialMs = checkPositive(options.backoffInitialMs ?? 50, "backoffInitialMs");
    this.backoffMaxMs = checkPositive(options.backoffMaxMs ?? 2000, "backoffMaxMs");
    this.netDelay = options.netDelay;
    this.pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
    this.logger = options.logger ?? consoleLogger;
    this.service = raftServiceDefinition();
  }

  async start(onBatch: (batch: InboundBatch) => void): Promise<void> {
    if (this.stopped) throw new Error(`transport of peer ${this.id} is stopped`);
    if (this.onBatch !== undefined) throw new Error(`transport of peer ${this.id} already started`);
    this.onBatch = onBatch;
    const server = new grpc.Server(this.serverOptions());
    server.addService(this.service, {
      RaftMessage: (call: grpc.ServerDuplexStream<Uint8Array, Uint8Array>) => this.serve(call),
    });
    try {
      await new Promise<number>((resolve, reject) => {
        server.bindAsync(this.address, grpc.ServerCredentials.createInsecure(), (err, port) =>
          err ? reject(err) : resolve(port),
        );
      });
    } catch (err) {
      server.forceShutdown();
      this.onBatch = undefined;
      const reason = err instanceof Error ? err.message : String(err);
      throw new Error(
        `peer ${this.id} cannot listen on ${this.address} (${reason}): free the port or give this peer another address`,
      );
    }
    this.server = server;
    if (this.pingIntervalMs > 0) {
      this.pinger = setInterval(() => {
        const now = performance.now();
        for (const link of this.links.values()) link.ping(now);
      }, this.pingIntervalMs);
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

  /** The outbound side of one peer: queue depth, stream state. Undefined before first use. */
  linkStats(peerId: number): PeerLinkStats | undefined {
    return this.links.get(peerId)?.stats();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unreachable.clear();
    if (this.pinger !== undefined) clearInterval(this.pinger);
    for (const link of this.links.values()) link.stop();
    for (const client of this.clients) client.close();
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const call of this.inbound) call.end();
    this.inbound.clear();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 250);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private warnNoWindowOnce(): void {
    if (this.warnedNoWindow) return;
    this.warnedNoWindow = true;
    this.logger.warn(
      "could not raise the HTTP/2 receive window of inbound streams (grpc-js internals changed?): large batches will be slower",
    );
  }

  private drop(to: number, messages: number): void {
    this.counters.dropped += messages;
    this.unreachable.report(to);
  }

  /** Encodes one destination's batch once; splits it if it exceeds maxMessageBytes. */
  private sendGroup(link: PeerLink, epoch: Epoch, group: readonly Message[]): void {
    const bytes = encodeBatch(epoch, this.id, group);
    if (bytes.length > this.maxMessageBytes) {
      if (group.length === 1) {
        this.logger.warn(
          `dropping a ${bytes.length}-byte message to peer ${link.peerId}: larger than maxMessageBytes=${this.maxMessageBytes}`,
        );
        this.drop(link.peerId, 1);
        return;
      }
      const half = group.length >>> 1;
      this.sendGroup(link, epoch, group.slice(0, half));
      this.sendGroup(link, epoch, group.slice(half));
      return;
    }
    link.send({ bytes, headerLength: batchHeaderLength(bytes), messages: group.length });
  }

  private link(peerId: number): PeerLink | undefined {
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
    const client = new grpc.Client(
      address,
      grpc.credentials.createInsecure(),
      this.clientOptions(),
    );
    this.clients.push(client);
    const link = new PeerLink(
      peerId,
      address,
      client,
      this.service,
      {
        maxMessageBytes: this.maxMessageBytes,
        maxQueueBytes: this.maxQueueBytes,
        maxQueueBatches: this.maxQueueBatches,
        maxInflightBytes: Math.max(16 * MiB, this.flowControlWindow),
        backoffInitialMs: this.backoffInitialMs,
        backoffMaxMs: this.backoffMaxMs,
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
        opened: () => {
          if (this.pingIntervalMs > 0) link.ping(performance.now());
        },
        pong: (sentMs) => this.latency.recordPong(sentMs, performance.now()),
      },
      this.logger,
    );
    this.links.set(peerId, link);
    return link;
  }

  private serve(call: grpc.ServerDuplexStream<Uint8Array, Uint8Array>): void {
    if (this.stopped) {
      call.end();
      return;
    }
    this.inbound.add(call);
    if (this.flowControlWindow > 0 && !widenReceiveWindow(call, this.flowControlWindow)) {
      this.warnNoWindowOnce();
    }
    // Headers at once: they tell the sender that the stream is open.
    call.sendMetadata(new grpc.Metadata());
    let failed = false;
    // Pongs go back through this peer's --net-delay, as its data does.
    const pongs = hasDelay(this.netDelay)
      ? new DelayLine<Uint8Array>(this.netDelay, (items) => {
          for (const bytes of items) call.write(bytes);
        })
      : undefined;
    call.on("data", (bytes: Uint8Array) => {
      if (failed) return;
      if (readPing(bytes) !== undefined) {
        if (pongs !== undefined) pongs.push(bytes);
        else call.write(bytes);
        return;
      }
      let batch: InboundBatch;
      try {
        batch = decodeBatch(bytes);
      } catch (err) {
        failed = true;
        const details = err instanceof Error ? err.message : String(err);
        this.logger.warn(`closing the stream from ${call.getPeer()}: ${details}`);
        call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details });
        return;
      }
      try {
        this.onBatch?.(batch);
      } catch (err) {
        // The handler's own failure: surface it without leaving grpc-js mid-callback.
        queueMicrotask(() => {
          throw err;
        });
      }
    });
    call.on("end", () => call.end());
    // A peer that goes away cancels its stream: nothing to do but forget it.
    call.on("error", () => {});
    call.on("close", () => {
      pongs?.close();
      this.inbound.delete(call);
    });
  }

  private clientOptions(): grpc.ChannelOptions {
    const options: grpc.ChannelOptions = {
      "grpc.max_send_message_length": this.maxMessageBytes,
      "grpc.max_receive_message_length": this.maxMessageBytes,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.initial_reconnect_backoff_ms": this.backoffInitialMs,
      "grpc.max_reconnect_backoff_ms": this.backoffMaxMs,
      // Retries would keep a copy of every message written until the call commits.
      "grpc.enable_retries": 0,
      // One connection per transport, not shared with other transports in this process.
      "grpc.use_local_subchannel_pool": 1,
    };
    if (this.flowControlWindow > 0) {
      options["grpc-node.flow_control_window"] = this.flowControlWindow;
    }
    return options;
  }

  private serverOptions(): grpc.ServerOptions {
    return {
      "grpc.max_send_message_length": this.maxMessageBytes,
      "grpc.max_receive_message_length": this.maxMessageBytes,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
    };
  }
}

// grpc-js has no server option for the HTTP/2 receive window, and with the default 64 KiB
// the sender stalls on window updates: a 1,024-entry batch moved at about half the rate
// (transport-bench). So the first stream of each inbound connection reaches through
// grpc-js's call objects (checked against grpc-js 1.14) to the Node HTTP/2 session and
// announces a larger window. If grpc-js changes shape, this finds no session, logs once,
// and the transport still works at the default window.
const widened = new WeakSet<object>();

interface InternalServerCall {
  call?: InternalServerCall;
  nextCall?: InternalServerCall;
  stream?: { session?: Http2Session };
}

/** Raises the receive window of the connection carrying `call`; false if it cannot. */
function widenReceiveWindow(call: object, window: number): boolean {
  let inner = (call as InternalServerCall).call;
  for (let depth = 0; inner !== undefined && inner.stream === undefined && depth < 8; depth++) {
    inner = inner.nextCall;
  }
  const session = inner?.stream?.session;
  if (session === undefined || typeof session.settings !== "function") return false;
  if (widened.has(session)) return true;
  widened.add(session);
  try {
    session.setLocalWindowSize(window);
    session.settings({ initialWindowSize: window });
  } catch {
    return false;
  }
  return true;
}
