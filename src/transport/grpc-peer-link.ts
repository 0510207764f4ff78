// One peer's outbound side of the gRPC transport: a long-lived bidirectional stream,
// opened on first use and reopened with exponential backoff while the peer is down, fed
// from a queue bounded by bytes and by count.
//
// Batches are written only once the stream is known to be open (the receiver sends its
// response headers at once), so while a peer is down they wait in the queue instead of
// vanishing into a failing call; when the queue is full, new batches are dropped and
// counted (Raft retransmits). While the stream pushes back (write() returned false, or too
// many bytes are handed to gRPC and not yet written out), batches also wait in the queue,
// and queued batches with the same header are joined into one write.
import type * as grpc from "@grpc/grpc-js";
import { concatBatches, sameBatchHeader } from "./codec.js";
import type { RaftServiceDefinition } from "./grpc-service.js";

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export interface PeerLinkOptions {
  maxMessageBytes: number;
  maxQueueBytes: number;
  maxQueueBatches: number;
  /** Bytes handed to gRPC but not yet written out, above which batches wait in the queue. */
  maxInflightBytes: number;
  backoffInitialMs: number;
  backoffMaxMs: number;
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
}

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
  private reportedDown = false;
  private writes = 0;
  private streamsOpened = 0;

  constructor(
    readonly peerId: number,
    readonly address: string,
    private readonly client: grpc.Client,
    private readonly service: RaftServiceDefinition,
    private readonly options: PeerLinkOptions,
    private readonly events: PeerLinkEvents,
    private readonly logger: Logger,
  ) {
    this.backoffMs = options.backoffInitialMs;
  }

  stats(): PeerLinkStats {
    return {
      state: this.state,
      queuedBatches: this.queue.length - this.queueHead,
      queuedBytes: this.queuedBytes,
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
    if (this.state === "open" && this.queueHead === this.queue.length && !this.blocked()) {
      this.writeRun([batch.bytes], batch.headerLength, batch.messages);
      return;
    }
    this.enqueue(batch);
    if (this.state === "idle") this.open();
  }

  stop(): void {
    this.state = "stopped";
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

  private enqueue(batch: QueuedBatch): void {
    const queued = this.queue.length - this.queueHead;
    if (
      queued >= this.options.maxQueueBatches ||
      this.queuedBytes + batch.bytes.length > this.options.maxQueueBytes
    ) {
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
      if (this.reportedDown) {
        this.reportedDown = false;
        this.logger.info(`peer ${this.peerId} at ${this.address} is reachable again`);
      }
      this.flush();
    });
    call.on("drain", () => {
      if (this.call !== call) return;
      this.writeBlocked = false;
      this.flush();
    });
    // Acks carry nothing the sender needs; reading keeps the stream flowing to its end.
    call.on("data", () => {});
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
    if (!this.reportedDown) {
      this.reportedDown = true;
      this.logger.warn(
        `peer ${this.peerId} at ${this.address} is unreachable (${reason}); retrying with backoff`,
      );
    }
    this.events.unreachable(this.peerId);
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
