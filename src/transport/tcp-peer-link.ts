// One remote peer's side of the raw TCP transport: the one connection between this peer and
// that one (the peer with the lower id dials, the other accepts), and the queue of frames
// waiting for it.
//
// Frames queue while there is no connection, while the socket holds more than
// `maxInflightBytes` not yet written out, and, with --net-delay, in the link's delay line;
// the queue is bounded by frames and bytes (without a connection by the smaller
// maxDownQueueBytes: Raft resends what a peer needs, so a dead peer gets no backlog replayed
// when it is back, and a connection that ends drops its queue), and a batch that does not
// fit is dropped and counted (Raft retransmits). A frame queued on an idle connection is
// written at once; what is queued behind it in the same turn of the event loop leaves in one
// socket write (cork, write each frame, uncork: one writev), flushed from a microtask.
import type { Socket } from "node:net";
import { DelayLine, hasDelay, type NetDelay } from "./net-delay.js";
import { Reachability } from "./reachability.js";
import { FRAME_HEADER_BYTES, FrameKind, frameHeader } from "./tcp-frames.js";
import type { TransportLogger as Logger } from "./transport.js";

/** A turn's frames up to this size are copied into one buffer and written with one write. */
const JOIN_BELOW_BYTES = 16 * 1024;

/** The frames, headers included, in one buffer of `wire` bytes. */
function joinFrames(frames: readonly OutboundFrame[], wire: number): Buffer {
  const out = Buffer.allocUnsafe(wire);
  let at = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    if (frame.kind === FrameKind.Batch) {
      out.writeUInt32BE(frame.length + 1, at);
      out[at + 4] = FrameKind.Batch;
      at += FRAME_HEADER_BYTES;
    }
    const parts = frame.parts;
    for (let k = 0; k < parts.length; k++) {
      out.set(parts[k]!, at);
      at += parts[k]!.length;
    }
  }
  return out;
}

export interface TcpPeerLinkOptions {
  maxQueueBytes: number;
  maxQueueBatches: number;
  /** The byte bound while there is no connection (the peer is down or not reached yet). */
  maxDownQueueBytes: number;
  maxInflightBytes: number;
  netDelay: NetDelay | undefined;
}

/** A frame waiting to be written. Control frames (ping, pong) carry no messages. */
export interface OutboundFrame {
  kind: FrameKind;
  /**
   * A batch frame's body, in parts written one after the other (large entry data is a part
   * of its own, never copied); a control frame is one part, header included.
   */
  parts: Uint8Array[];
  /** Bytes in all parts. */
  length: number;
  messages: number;
}

export interface TcpPeerLinkEvents {
  dropped(peerId: number, messages: number): void;
  written(batches: number, messages: number): void;
  unreachable(peerId: number): void;
  /** The connection to the peer ended, or a dial failed. */
  disconnected(peerId: number): void;
  /** A connection was attached: the transport pings it at once. */
  opened(peerId: number): void;
}

export type TcpLinkState = "down" | "open" | "stopped";

export interface TcpPeerLinkStats {
  state: TcpLinkState;
  queuedBatches: number;
  queuedBytes: number;
  writes: number;
  connections: number;
}

export class TcpPeerLink {
  private socket: Socket | undefined;
  private state: TcpLinkState = "down";
  private queue: OutboundFrame[] = [];
  private queuedFrames = 0;
  private queuedBytes = 0;
  private flushScheduled = false;
  /** A frame was written at once in this turn: the rest of the turn's frames gather. */
  private wroteThisTurn = false;
  private readonly turnOver = () => {
    this.wroteThisTurn = false;
  };
  private blocked = false;
  private writes = 0;
  private connections = 0;
  private readonly reachability: Reachability;
  private readonly delay: DelayLine<OutboundFrame> | undefined;

  constructor(
    readonly peerId: number,
    readonly address: string,
    private readonly options: TcpPeerLinkOptions,
    private readonly events: TcpPeerLinkEvents,
    logger: Logger,
  ) {
    this.reachability = new Reachability(peerId, address, logger, events);
    if (hasDelay(options.netDelay)) {
      this.delay = new DelayLine(options.netDelay, (frames) => this.arrive(frames));
    }
  }

  get isOpen(): boolean {
    return this.state === "open";
  }

  stats(): TcpPeerLinkStats {
    return {
      state: this.state,
      queuedBatches: this.queuedFrames,
      queuedBytes: this.queuedBytes,
      writes: this.writes,
      connections: this.connections,
    };
  }

  /** Queues a batch; drops and counts it when the queue is full or the link stopped. */
  sendBatch(parts: Uint8Array[], length: number, messages: number): void {
    const maxBytes =
      this.state === "open" ? this.options.maxQueueBytes : this.options.maxDownQueueBytes;
    if (
      this.state === "stopped" ||
      this.queuedFrames >= this.options.maxQueueBatches ||
      this.queuedBytes + length > maxBytes
    ) {
      this.events.dropped(this.peerId, messages);
      this.events.unreachable(this.peerId);
      return;
    }
    if (this.state !== "open") this.events.unreachable(this.peerId);
    this.accept({ kind: FrameKind.Batch, parts, length, messages });
  }

  /** Queues a ping or pong while connected; without a connection it is simply not sent. */
  sendControl(kind: typeof FrameKind.Ping | typeof FrameKind.Pong, frame: Uint8Array): void {
    if (this.state !== "open") return;
    this.accept({ kind, parts: [frame], length: frame.length, messages: 0 });
  }

  /** Takes over `socket` (dialed or accepted, hello already exchanged) as the connection. */
  attach(socket: Socket): void {
    if (this.state === "stopped") {
      socket.destroy();
      return;
    }
    const old = this.socket;
    this.socket = socket;
    if (old !== undefined) old.destroy();
    this.state = "open";
    this.blocked = false;
    this.connections++;
    this.reachability.reached();
    socket.on("drain", () => {
      if (this.socket !== socket) return;
      this.blocked = false;
      this.scheduleFlush();
    });
    this.events.opened(this.peerId);
    this.scheduleFlush();
  }

  /** The connection `socket` ended; returns whether it was this link's current one. */
  detach(socket: Socket, reason: string): boolean {
    if (this.socket !== socket) return false;
    this.socket = undefined;
    this.blocked = false;
    if (this.state === "stopped") return true;
    this.state = "down";
    this.dropQueue();
    this.reachability.lost(reason, false);
    return true;
  }

  /** A dial failed: report the peer down (logged once until it is back). */
  failedDial(reason: string): void {
    if (this.state === "stopped") return;
    this.reachability.lost(reason, true);
  }

  stop(): void {
    this.state = "stopped";
    this.delay?.close();
    this.queue = [];
    this.queuedFrames = 0;
    this.queuedBytes = 0;
    const socket = this.socket;
    this.socket = undefined;
    socket?.destroy();
  }

  private accept(frame: OutboundFrame): void {
    this.queuedFrames++;
    this.queuedBytes += frame.length;
    if (this.delay !== undefined) this.delay.push(frame);
    else this.arrive1(frame);
  }

  /** Frames whose delay is over join the write queue. */
  private arrive(frames: OutboundFrame[]): void {
    for (let i = 0; i < frames.length; i++) this.arrive1(frames[i]!);
  }

  private arrive1(frame: OutboundFrame): void {
    if (this.state !== "open" && frame.kind !== FrameKind.Batch) {
      // A ping or pong delayed past the end of its connection.
      this.forget(frame);
      return;
    }
    this.queue.push(frame);
    // The first frame of a turn leaves at once: a follower's answer goes out before it
    // applies, a leader's append before its own write. Frames queued behind it in the same
    // turn (a held commit, a pong) follow together from the microtask.
    if (this.queue.length === 1 && !this.wroteThisTurn && !this.flushScheduled) {
      this.wroteThisTurn = true;
      queueMicrotask(this.turnOver);
      this.flush();
    } else this.scheduleFlush();
  }

  private forget(frame: OutboundFrame): void {
    this.queuedFrames--;
    this.queuedBytes -= frame.length;
  }

  /** Drops (and counts) the queued frames: they were meant for a connection now gone. */
  private dropQueue(): void {
    let messages = 0;
    for (const frame of this.queue) {
      messages += frame.messages;
      this.forget(frame);
    }
    this.queue = [];
    if (messages > 0) this.events.dropped(this.peerId, messages);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.state !== "open" || this.blocked) return;
    if (this.queue.length === 0) return;
    this.flushScheduled = true;
    queueMicrotask(() => this.flush());
  }

  /**
   * Writes every queued frame in one socket write: small turns (the usual case at low
   * load) are joined into one buffer, a copy of a few hundred bytes that costs less than
   * the stream's per-chunk work; larger ones are corked and leave as one writev, their
   * parts by reference.
   */
  private flush(): void {
    this.flushScheduled = false;
    const socket = this.socket;
    if (socket === undefined || this.state !== "open" || this.blocked) return;
    const frames = this.queue;
    if (frames.length === 0) return;
    this.queue = [];
    let batches = 0;
    let messages = 0;
    let bytes = 0;
    let wire = 0;
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      if (frame.kind === FrameKind.Batch) {
        batches++;
        messages += frame.messages;
        wire += FRAME_HEADER_BYTES;
      }
      bytes += frame.length;
    }
    wire += bytes;
    if (wire <= JOIN_BELOW_BYTES) socket.write(joinFrames(frames, wire));
    else {
      socket.cork();
      for (let i = 0; i < frames.length; i++) {
        const frame = frames[i]!;
        if (frame.kind === FrameKind.Batch) {
          socket.write(frameHeader(FrameKind.Batch, frame.length));
        }
        const parts = frame.parts;
        for (let k = 0; k < parts.length; k++) socket.write(parts[k]!);
      }
      socket.uncork();
    }
    this.queuedFrames -= frames.length;
    this.queuedBytes -= bytes;
    this.writes++;
    this.events.written(batches, messages);
    if (socket.writableLength > this.options.maxInflightBytes) this.blocked = true;
  }
}
