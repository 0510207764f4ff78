// One peer's outbound side of the gRPC transport: a long-lived bidirectional stream,
// opened on first use and reopened with exponential backoff while the peer is down, fed
// from a queue bounded by bytes and by count.
//
// Batches are written only once the stream is known to be open (the receiver sends its
// response headers at once), so while a peer is down they wait in the queue instead of
// vanishing into a failing call, up to a small bound (maxDownQueueBytes): Raft resends what
// a peer needs, so a dead peer gets no backlog replayed when it is back, and a stream that
// fails drops its queue. When the queue is full, new batches are dropped and counted. While the stream pushes back (write() returned false, or too
// many bytes are handed to gRPC and not yet written out), batches also wait in the queue,
// and queued batches with the same header are joined into one write.
import type * as grpc from "@grpc/grpc-js";
import { concatBatches, sameBatchHeader } from "./codec/join.js";
import { encodePing, readPing } from "./codec/ping.js";
import type { RaftServiceDefinition } from "./grpc-service.js";
import { DelayLine, hasDelay, type NetDelay } from "./net-delay.js";
import { Reachability } from "./reachability.js";
import type { TransportLogger as Logger } from "./transport.js";

export interface PeerLinkOptions {
  maxMessageBytes: number;
  maxQueueBytes: number;
  maxQueueBatches: number;
  /** The byte bound while the stream is not open (the peer is down or not reached yet). */
  maxDownQueueBytes: number;
  /** Bytes handed to gRPC but not yet written out, above which batches wait in the queue. */
  maxInflightBytes: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** One-way delay added before anything is handed to the stream (--net-delay). */
  netDelay?: NetDelay | undefined;
}

export interface QueuedBatch {
  bytes: Uint8Array;
  headerLength: number;
  messages: number;
}

export interface PeerLinkEvents {
  /** `messages` messages to this peer were dropped. */
  dropped(peerId: number, messages: number): void;
  /** Batches and messages were handed to the stream. */
  written(batches: number, messages: number): void;
  /** The peer could not be reached (stream failed, or messages were dropped). */
  unreachable(peerId: number): void;
  /** The stream to the peer failed, or could not be opened. */
  disconnected(peerId: number): void;
  /** The stream is open: the transport pings it at once. */
  opened?(peerId: number): void;
  /** A pong came back for a ping sent at `sentMs` (performance.now()). */
  pong?(sentMs: number): void;
}

/** What waits in the delay line: a batch, or a ping (its bytes). */
type Delayed = QueuedBatch | Uint8Array;

type State = "idle" | "opening" | "open" | "backoff" | "stopped";

export interface PeerLinkStats {
  state: State;
  queuedBatches: number;
  queuedBytes: number;
  inflightBytes: number;
  writes: number;
  streamsOpened: number;
}

export class PeerLink {
  private state: State = "idle";
  private call: grpc.ClientDuplexStream<Uint8Array, Uint8Array> | undefined;
  private readonly queue: QueuedBatch[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private inflightBytes = 0;
  private writeBlocked = false;
  private backoffMs: number;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly reachability: Reachability;
  private writes = 0;
  private streamsOpened = 0;
  private delayedBatches = 0;
  private delayedBytes = 0;
  private readonly delay: DelayLine<Delayed> | undefined;

  constructor(
    readonly peerId: number,
    readonly address: string,
    private readonly client: grpc.Client,
    private readonly service: RaftServiceDefinition,
    private readonly options: PeerLinkOptions,
    private readonly events: PeerLinkEvents,
    logger: Logger,
  ) {
    this.reachability = new Reachability(peerId, address, logger, events);
    this.backoffMs = options.backoffInitialMs;
    if (hasDelay(options.netDelay)) {
      this.delay = new DelayLine(options.netDelay, (items) => this.arrive(items));
    }
  }

  stats(): PeerLinkStats {
    return {
      state: this.state,
      queuedBatches: this.queue.length - this.queueHead + this.delayedBatches,
      queuedBytes: this.queuedBytes + this.delayedBytes,
      inflightBytes: this.inflightBytes,
      writes: this.writes,
      streamsOpened: this.streamsOpened,
    };
  }

  send(batch: QueuedBatch): void {
    if (this.state === "stopped") {
      this.events.dropped(this.peerId, batch.messages);
      return;
    }
    if (this.delay !== undefined) {
      if (this.full(batch)) {
        this.events.dropped(this.peerId, batch.messages);
        this.events.unreachable(this.peerId);
        return;
      }
      this.delayedBatches++;
      this.delayedBytes += batch.bytes.length;
      this.delay.push(batch);
      // Opening the stream need not wait for the delay.
      if (this.state === "idle") this.open();
      return;
    }
    this.sendNow(batch);
  }

  /** Sends a ping carrying `clockMs` if the stream is open (through the delay, as data). */
  ping(clockMs: number): void {
    if (this.state !== "open") return;
    const bytes = encodePing(clockMs);
    if (this.delay !== undefined) this.delay.push(bytes);
    else this.writePing(bytes);
  }

  private arrive(items: Delayed[]): void {
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (item instanceof Uint8Array) {
        this.writePing(item);
        continue;
      }
      this.delayedBatches--;
      this.delayedBytes -= item.bytes.length;
      this.sendNow(item);
    }
  }

  /** Pings skip the queue: they measure the link, and one lost with a stream is no loss. */
  private writePing(bytes: Uint8Array): void {
    if (this.state !== "open" || this.call === undefined) return;
    this.call.write(bytes);
  }

  private sendNow(batch: QueuedBatch): void {
    if (this.state === "stopped") {
      this.events.dropped(this.peerId, batch.messages);
      return;
    }
    if (this.state === "open" && this.queueHead === this.queue.length && !this.blocked()) {
      this.writeRun([batch.bytes], batch.headerLength, batch.messages);
      return;
    }
    this.enqueue(batch);
    if (this.state === "idle") this.open();
  }

  stop(): void {
    this.state = "stopped";
    this.delay?.close();
    if (this.retryTimer !== undefined) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const call = this.call;
    this.call = undefined;
    call?.cancel();
    this.queue.length = 0;
    this.queueHead = 0;
    this.queuedBytes = 0;
  }

  private blocked(): boolean {
    return this.writeBlocked || this.inflightBytes >= this.options.maxInflightBytes;
  }

  private full(batch: QueuedBatch): boolean {
    const queued = this.queue.length - this.queueHead + this.delayedBatches;
    const maxBytes =
      this.state === "open" ? this.options.maxQueueBytes : this.options.maxDownQueueBytes;
    return (
      queued >= this.options.maxQueueBatches ||
      this.queuedBytes + this.delayedBytes + batch.bytes.length > maxBytes
    );
  }

  /** Drops (and counts) every queued batch: they were meant for a connection now gone. */
  private dropQueue(): void {
    let messages = 0;
    for (let i = this.queueHead; i < this.queue.length; i++) messages += this.queue[i]!.messages;
    this.queue.length = 0;
    this.queueHead = 0;
    this.queuedBytes = 0;
    if (messages > 0) this.events.dropped(this.peerId, messages);
  }

  private enqueue(batch: QueuedBatch): void {
    // Batches that waited in the delay line were counted against the bound already.
    if (this.delay === undefined && this.full(batch)) {
      this.events.dropped(this.peerId, batch.messages);
      this.events.unreachable(this.peerId);
      return;
    }
    this.queue.push(batch);
    this.queuedBytes += batch.bytes.length;
  }

  private open(): void {
    this.state = "opening";
    this.streamsOpened++;
    const call = this.client.makeBidiStreamRequest(
      this.service.RaftMessage.path,
      this.service.RaftMessage.requestSerialize,
      this.service.RaftMessage.responseDeserialize,
    );
    this.call = call;
    call.on("metadata", () => {
      if (this.call !== call) return;
      this.state = "open";
      this.backoffMs = this.options.backoffInitialMs;
      this.reachability.reached();
      this.flush();
      this.events.opened?.(this.peerId);
    });
    call.on("drain", () => {
      if (this.call !== call) return;
      this.writeBlocked = false;
      this.flush();
    });
    // Only pongs come back; reading keeps the stream flowing to its end.
    call.on("data", (bytes: Uint8Array) => {
      const sent = readPing(bytes);
      if (sent !== undefined) this.events.pong?.(sent);
    });
    call.on("error", (err: grpc.ServiceError) => this.closed(call, err.details || err.message));
    call.on("status", (status: grpc.StatusObject) => this.closed(call, status.details));
  }

  /** The stream ended (error or status): back off, then reopen if batches wait. */
  private closed(call: grpc.ClientDuplexStream<Uint8Array, Uint8Array>, reason: string): void {
    if (this.call !== call) return;
    this.call = undefined;
    this.writeBlocked = false;
    this.inflightBytes = 0;
    if (this.state === "stopped") return;
    this.dropQueue();
    this.reachability.lost(reason, true);
    this.state = "backoff";
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, this.options.backoffMaxMs);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.state !== "backoff") return;
      this.state = "idle";
      if (this.queueHead < this.queue.length) this.open();
    }, delay);
    this.retryTimer.unref();
  }

  /** Writes queued batches while the stream accepts them, joining same-header runs. */
  private flush(): void {
    const call = this.call;
    while (this.state === "open" && call !== undefined && !this.blocked()) {
      if (this.queueHead === this.queue.length) break;
      const first = this.queue[this.queueHead]!;
      const run: Uint8Array[] = [first.bytes];
      let messages = first.messages;
      let size = first.bytes.length;
      let next = this.queueHead + 1;
      while (next < this.queue.length) {
        const b = this.queue[next]!;
        const joined = size + b.bytes.length - first.headerLength;
        if (joined > this.options.maxMessageBytes) break;
        if (!sameBatchHeader(first.bytes, first.headerLength, b.bytes, b.headerLength)) break;
        run.push(b.bytes);
        messages += b.messages;
        size = joined;
        next++;
      }
      for (let i = this.queueHead; i < next; i++) this.queuedBytes -= this.queue[i]!.bytes.length;
      this.queueHead = next;
      if (this.queueHead === this.queue.length) {
        this.queue.length = 0;
        this.queueHead = 0;
      } else if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
        this.queue.splice(0, this.queueHead);
        this.queueHead = 0;
      }
      this.writeRun(run, first.headerLength, messages);
    }
  }

  private writeRun(run: Uint8Array[], headerLength: number, messages: number): void {
    const call = this.call!;
    const bytes = concatBatches(run, headerLength);
    const size = bytes.length;
    this.inflightBytes += size;
    this.writes++;
    this.events.written(run.length, messages);
    const accepted = call.write(bytes, () => {
      if (this.call !== call) return;
      this.inflightBytes -= size;
      if (this.inflightBytes < this.options.maxInflightBytes) this.flush();
    });
    if (!accepted) this.writeBlocked = true;
  }
}
