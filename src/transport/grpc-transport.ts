// The gRPC transport: a server on this peer's address receiving one stream per remote
// peer, and one outbound stream per remote peer (grpc-peer-link.ts). Each send groups the
// messages by destination and encodes each destination's batch once, by hand (codec/encode.ts);
// gRPC only frames the bytes.
import type { Http2Session } from "node:http2";
import * as grpc from "@grpc/grpc-js";
import type { Message } from "../raft/types.js";
import { decodeBatch } from "./codec/decode.js";
import { BatchEncoder } from "./codec/encode.js";
import { batchHeaderLength } from "./codec/join.js";
import { readPing } from "./codec/ping.js";
import { PeerLink, type PeerLinkStats } from "./grpc-peer-link.js";
import { type RaftServiceDefinition, raftServiceDefinition } from "./grpc-service.js";
import { DelayLine, hasDelay } from "./net-delay.js";
import type { Epoch, InboundBatch, Transport, TransportStats } from "./transport.js";
import { MiB, TransportCore, type TransportCoreOptions } from "./transport-core.js";

export { parseAddress } from "./address.js";

/** maxMessageBytes bounds one gRPC message; maxQueue* count batches waiting for the stream. */
export interface GrpcTransportOptions extends TransportCoreOptions {
  /**
   * HTTP/2 flow-control window in bytes, default 16 MiB: announced by the server for
   * inbound streams, and set as the client's `grpc-node.flow_control_window`. 0 keeps the
   * HTTP/2 default of 64 KiB.
   */
  flowControlWindow?: number;
}

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
  private readonly core: TransportCore<PeerLink, Uint8Array>;
  private readonly encoder = new BatchEncoder();
  private readonly flowControlWindow: number;
  private readonly service: RaftServiceDefinition;
  private readonly clients: grpc.Client[] = [];
  private readonly inbound = new Set<grpc.ServerDuplexStream<Uint8Array, Uint8Array>>();
  private server: grpc.Server | undefined;
  private warnedNoWindow = false;

  constructor(options: GrpcTransportOptions) {
    this.core = new TransportCore<PeerLink, Uint8Array>(options, {
      newLink: (peerId, address) => this.newLink(peerId, address),
      encode: (epoch, from, group) => this.encoder.encode(epoch, from, group),
      deliver: (link, bytes, messages) =>
        link.send({ bytes, headerLength: batchHeaderLength(bytes), messages }),
    });
    this.id = this.core.id;
    this.address = this.core.address;
    this.flowControlWindow = options.flowControlWindow ?? 16 * MiB;
    this.service = raftServiceDefinition();
  }

  async start(onBatch: (batch: InboundBatch) => void): Promise<void> {
    this.core.beginStart(onBatch);
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
      throw this.core.listenFailed(err);
    }
    this.server = server;
    this.core.startPinger(() => {
      const now = performance.now();
      for (const link of this.core.links.values()) link.ping(now);
    });
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

  /** The outbound side of one peer: queue depth, stream state. Undefined before first use. */
  linkStats(peerId: number): PeerLinkStats | undefined {
    return this.core.links.get(peerId)?.stats();
  }

  async stop(): Promise<void> {
    if (!this.core.halt()) return;
    this.core.stopLinks();
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
    this.core.logger.warn(
      "could not raise the HTTP/2 receive window of inbound streams (grpc-js internals changed?): large batches will be slower",
    );
  }

  private newLink(peerId: number, address: string): PeerLink {
    const core = this.core;
    const client = new grpc.Client(
      address,
      grpc.credentials.createInsecure(),
      this.clientOptions(),
    );
    this.clients.push(client);
    const link: PeerLink = new PeerLink(
      peerId,
      address,
      client,
      this.service,
      {
        maxMessageBytes: core.maxMessageBytes,
        maxQueueBytes: core.maxQueueBytes,
        maxQueueBatches: core.maxQueueBatches,
        maxDownQueueBytes: core.maxDownQueueBytes,
        maxInflightBytes: Math.max(16 * MiB, this.flowControlWindow),
        backoffInitialMs: core.backoffInitialMs,
        backoffMaxMs: core.backoffMaxMs,
        netDelay: core.netDelay,
      },
      {
        ...core.countingEvents(),
        opened: () => {
          if (core.pingIntervalMs > 0) link.ping(performance.now());
        },
        pong: (sentMs) => core.recordPong(sentMs),
      },
      core.logger,
    );
    return link;
  }

  private serve(call: grpc.ServerDuplexStream<Uint8Array, Uint8Array>): void {
    if (this.core.stopped) {
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
    const pongs = hasDelay(this.core.netDelay)
      ? new DelayLine<Uint8Array>(this.core.netDelay, (items) => {
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
        this.core.logger.warn(`closing the stream from ${call.getPeer()}: ${details}`);
        call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details });
        return;
      }
      this.core.deliver(batch);
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
      "grpc.max_send_message_length": this.core.maxMessageBytes,
      "grpc.max_receive_message_length": this.core.maxMessageBytes,
      "grpc.keepalive_time_ms": 10_000,
      "grpc.keepalive_timeout_ms": 5_000,
      "grpc.initial_reconnect_backoff_ms": this.core.backoffInitialMs,
      "grpc.max_reconnect_backoff_ms": this.core.backoffMaxMs,
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
      "grpc.max_send_message_length": this.core.maxMessageBytes,
      "grpc.max_receive_message_length": this.core.maxMessageBytes,
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
