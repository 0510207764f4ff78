// The RESP2 server: one Connection per client socket. Each received chunk is parsed whole;
// its commands are answered in order, and the chunk's replies leave in one socket write.
//
// Ordering. A chunk's commands are cut into segments of consecutive reads or consecutive
// writes. A write segment is one writeBatch (so a pipelined chunk of writes is one batch); a
// read segment takes one read view for all its reads. A segment starts once the one before
// it has finished — a read sees every earlier write of its connection and no later one —,
// except a write segment after a write segment, which is handed to the backend at once: the
// backend proposes batches in the order it is given them, so the log keeps the connection's
// order while commits overlap. Replies are queued per chunk and written in request order
// however the commits finish.
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { performance } from "node:perf_hooks";
import { listen } from "../../transport/address.js";
import type { FaultSwitch } from "../../transport/fault-switch.js";
import {
  BackendError,
  type KvBackend,
  type KvReadView,
  type KvResult,
  type KvWrite,
  type ReadMode,
} from "../contract.js";
import { type KvLimits, keyCountViolations, NO_LIMITS, sizeViolation } from "../limits.js";
import { type FrontMetrics, NO_FRONT_METRICS } from "../metrics.js";
import {
  isCommand,
  isReply,
  type LocalContext,
  lookup,
  type ReadCommand,
  type ServerFacts,
  type WriteCommand,
} from "./commands.js";
import {
  DEFAULT_RESP_LIMITS,
  type RespLimits,
  RespParser,
  type RespProtocolError,
} from "./parser.js";
import type { Reply } from "./reply.js";
import * as r from "./reply.js";

export interface RespServerOptions {
  backend: KvBackend;
  readMode: ReadMode;
  limits?: KvLimits;
  protocolLimits?: RespLimits;
  metrics?: FrontMetrics;
  /** CONFIG GET answers; the server adds nothing of its own. */
  config?: ReadonlyMap<string, string>;
  /** Reported by INFO and HELLO as redis_version. */
  version?: string;
  /** The node's partition switch for RAFTTOY.PARTITION / HEAL (only with --admin-faults). */
  faults?: FaultSwitch;
}

/** Pause reading a client once this many of its commands wait for replies. */
const MAX_PENDING_COMMANDS = 64 * 1024;

/** A BackendError (or any failure) as the Redis-style error reply a client expects. */
export function backendErrorReply(e: unknown): { reply: Reply; code: string } {
  if (!(e instanceof BackendError)) {
    const message = e instanceof Error ? e.message : String(e);
    return { reply: r.error(`ERR internal error: ${message}`), code: "internal" };
  }
  switch (e.code) {
    case "no-leader":
      return { reply: r.error("CLUSTERDOWN no leader"), code: e.code };
    case "moved":
      // Slot 0: the service is one shard; redis-cli -c reconnects to the address and retries.
      return {
        reply: e.leader?.resp
          ? r.error(`MOVED 0 ${e.leader.resp}`)
          : r.error("CLUSTERDOWN leader has no RESP address"),
        code: e.code,
      };
    case "limit":
      return { reply: r.error(`ERR limit ${e.message}`), code: e.code };
    case "timeout":
      return { reply: r.error(`TIMEOUT ${e.message} (the write may still apply)`), code: e.code };
    case "unavailable":
      return { reply: r.error(`UNAVAILABLE ${e.message}`), code: e.code };
    case "bad-request":
      return { reply: r.error(`ERR ${e.message}`), code: e.code };
  }
}

/** One chunk's replies, filled as its segments finish. */
interface ChunkReplies {
  replies: (Reply | undefined)[];
  missing: number;
  /** Close the connection once these replies are written (QUIT, a malformed frame). */
  closeAfter: boolean;
}

interface Segment {
  kind: "read" | "write";
  chunk: ChunkReplies;
  slots: number[];
  commands: (ReadCommand | WriteCommand)[];
  args: Buffer[][];
  writes: KvWrite[];
}

/** When a write segment has been handed to the backend: the next write may follow it then. */
class Submission {
  done = false;
  private resolve: (() => void) | undefined;
  private waited: Promise<void> | undefined;
  /** Made only when a later write must wait: most hand-overs finish before one arrives. */
  get promise(): Promise<void> {
    this.waited ??= this.done
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          this.resolve = resolve;
        });
    return this.waited;
  }
  markDone(): void {
    if (this.done) return;
    this.done = true;
    this.resolve?.();
  }
}

/** A write segment handed to the backend within the call that started it. */
const HANDED_OVER = new Submission();
HANDED_OVER.markDone();

export class RespServer {
  private readonly server: Server;
  private readonly connections = new Set<Connection>();
  private nextClientId = 1;
  readonly facts: Omit<ServerFacts, "port">;

  constructor(readonly options: RespServerOptions) {
    this.facts = {
      version: options.version ?? "7.0.0",
      readMode: options.readMode,
      config: options.config ?? new Map(),
    };
    this.server = createServer((socket) => {
      const c = new Connection(this, socket, this.nextClientId++);
      this.connections.add(c);
      socket.once("close", () => this.connections.delete(c));
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return listen(this.server, host, port);
  }

  /** Stops accepting and closes every client connection. */
  close(): Promise<void> {
    for (const c of this.connections) c.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

class Connection implements LocalContext {
  private readonly parser: RespParser;
  private readonly backend: KvBackend;
  private readonly metrics: FrontMetrics;
  private readonly limits: KvLimits;
  private readonly queue: ChunkReplies[] = [];
  private pendingCommands = 0;
  /** Segments started and not finished; the last one's kind and completion. */
  private running = 0;
  private lastKind: "read" | "write" | null = null;
  private lastDone: Promise<void> | Submission = Promise.resolve();
  /** The last write segment's hand-over to the backend. */
  private submission: Submission | null = null;
  private closing = false;
  private quitRequested = false;
  /** Inside onData: replies are flushed at its end. */
  private parsing = false;
  readonly server: ServerFacts;
  readonly faults: FaultSwitch | undefined;

  constructor(
    private readonly owner: RespServer,
    private readonly socket: Socket,
    readonly clientId: number,
  ) {
    const o = owner.options;
    this.parser = new RespParser(o.protocolLimits ?? DEFAULT_RESP_LIMITS);
    this.backend = o.backend;
    this.metrics = o.metrics ?? NO_FRONT_METRICS;
    this.limits = o.limits ?? NO_LIMITS;
    this.server = { ...owner.facts, port: owner.port };
    this.faults = o.faults;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("drain", () => this.maybeResume());
    // A client that vanishes mid-reply is not an error of the server's.
    socket.on("error", () => socket.destroy());
  }

  cluster() {
    return this.backend.cluster();
  }

  quit(): void {
    this.quitRequested = true;
  }

  destroy(): void {
    this.closing = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closing) return;
    const { commands, error } = this.parser.push(chunk);
    if (commands.length === 0 && error === undefined) return;
    this.parsing = true;
    try {
      this.takeChunk(commands, error);
    } finally {
      this.parsing = false;
    }
    this.flush();
  }

  /** Queues one chunk's replies and starts its segments; the caller flushes. */
  private takeChunk(commands: Buffer[][], error: RespProtocolError | undefined): void {
    const n = commands.length + (error ? 1 : 0);
    const out: ChunkReplies = { replies: new Array(n), missing: n, closeAfter: false };
    this.queue.push(out);
    this.pendingCommands += n;
    let segment: Segment | null = null;
    let locals = 0;
    let i = 0;
    for (; i < commands.length; i++) {
      const args = commands[i] as Buffer[];
      const found = lookup(args);
      if (!isCommand(found)) {
        this.fill(out, i, found);
        this.metrics.error("resp", "command");
        continue;
      }
      const cmd = found;
      if (cmd.kind === "local") {
        locals++;
        this.fill(out, i, cmd.run(args, this));
        if (this.quitRequested) break;
        continue;
      }
      let write: KvWrite | null = null;
      if (cmd.kind === "write") {
        const prepared = cmd.prepare(args);
        if (isReply(prepared)) {
          this.fill(out, i, prepared);
          continue;
        }
        const bad = sizeViolation(prepared, this.limits);
        if (bad !== null) {
          this.fill(out, i, r.error(`ERR limit ${bad.message}`));
          this.metrics.error("resp", "limit");
          continue;
        }
        write = prepared;
      }
      if (segment === null || segment.kind !== cmd.kind) {
        if (segment !== null) this.start(segment);
        segment = { kind: cmd.kind, chunk: out, slots: [], commands: [], args: [], writes: [] };
      }
      segment.slots.push(i);
      segment.commands.push(cmd);
      segment.args.push(args);
      if (write !== null) segment.writes.push(write);
    }
    if (segment !== null) this.start(segment);
    if (locals > 0) this.metrics.requests("resp", "local", locals);
    if (this.quitRequested) {
      // Nothing after QUIT runs: its slots are dropped from the chunk.
      const dropped = n - (i + 1);
      out.replies.length = i + 1;
      out.missing -= dropped;
      this.pendingCommands -= dropped;
      out.closeAfter = true;
      this.stopReading();
    } else if (error !== undefined) {
      this.fill(out, commands.length, r.error(`ERR Protocol error: ${error.message}`));
      this.metrics.error("resp", "protocol");
      out.closeAfter = true;
      this.stopReading();
    }
    if (this.pendingCommands > MAX_PENDING_COMMANDS) this.socket.pause();
  }

  private stopReading(): void {
    this.closing = true;
    this.socket.pause();
  }

  private fill(chunk: ChunkReplies, slot: number, reply: Reply): void {
    chunk.replies[slot] = reply;
    chunk.missing--;
  }

  /** Runs a segment now or after the one before it, keeping the connection's order. */
  private start(segment: Segment): void {
    if (this.running === 0) {
      if (segment.kind === "read") {
        this.readNow(segment);
        return;
      }
      // A --max-keys check reads the key count first: the promise path below does that.
      if (this.limits.maxKeys === 0) {
        this.writeNow(segment);
        return;
      }
    }
    const prev = this.previous();
    const submission = this.submission;
    let done: Promise<void>;
    if (segment.kind === "write") {
      const mine = new Submission();
      this.submission = mine;
      const run = () => this.runWrites(segment, mine);
      if (this.lastKind === "write") {
        // Overlaps the write before it, but is handed to the backend only after it.
        done = submission === null || submission.done ? run() : submission.promise.then(run);
      } else {
        done = this.running === 0 ? run() : prev.then(run);
      }
    } else {
      const run = () => this.runReads(segment);
      done = this.running === 0 ? run() : prev.then(run);
    }
    this.running++;
    const finished = done.then(() => {
      this.running--;
      this.flush();
    });
    const overlapped = segment.kind === "write" && this.lastKind === "write";
    this.lastDone = overlapped ? Promise.all([prev, finished]).then(() => undefined) : finished;
    this.lastKind = segment.kind;
  }

  /** The last segment's completion, as a promise (made now if that segment had none). */
  private previous(): Promise<void> {
    const last = this.lastDone;
    return last instanceof Submission ? last.promise : last;
  }

  /**
   * A read segment with nothing before it unfinished: no promise of its own and no await —
   * the backend calls back with the view (at once for stale reads, from the ReadIndex
   * round's answer for linearizable ones) and the replies are filled and flushed there.
   */
  private readNow(s: Segment): void {
    const finished = new Submission();
    this.running++;
    this.lastDone = finished;
    this.lastKind = "read";
    this.metrics.requests("resp", "read", s.slots.length);
    const t0 = performance.now();
    this.backend.readWith(this.owner.options.readMode, {
      view: (view) => {
        this.metrics.readWait("resp", (performance.now() - t0) / 1000);
        this.answerReads(s, view);
        this.segmentDone(finished);
      },
      fail: (e) => {
        this.failSlots(s.chunk, s.slots, e);
        this.segmentDone(finished);
      },
    });
  }

  /**
   * A write segment with nothing before it unfinished: handed over in this call, answered by
   * callback (no async function, no promise per segment, none per batch in the backend).
   */
  private writeNow(s: Segment): void {
    const finished = new Submission();
    this.running++;
    this.lastDone = finished;
    this.lastKind = "write";
    this.submission = HANDED_OVER;
    this.metrics.requests("resp", "write", s.writes.length);
    const t0 = performance.now();
    this.backend.writeBatchWith(s.writes, {
      done: (results) => {
        this.metrics.writeBatch("resp", s.writes.length, (performance.now() - t0) / 1000);
        this.answerWrites(s.chunk, s.slots, s.commands as WriteCommand[], results);
        this.segmentDone(finished);
      },
      fail: (e) => {
        this.failSlots(s.chunk, s.slots, e);
        this.segmentDone(finished);
      },
    });
  }

  private segmentDone(finished: Submission): void {
    finished.markDone();
    this.running--;
    // Inside onData (a stale read answered at once) the chunk's flush comes at its end,
    // once every slot it has (QUIT, a protocol error) is known.
    if (!this.parsing) this.flush();
  }

  /** Fills the segment's replies from `view` (in the call that gave it: views do not last). */
  private answerReads(s: Segment, view: KvReadView): void {
    try {
      for (let j = 0; j < s.slots.length; j++) {
        const cmd = s.commands[j] as ReadCommand;
        this.fill(s.chunk, s.slots[j] as number, cmd.run(s.args[j] as Buffer[], view));
      }
    } catch (e) {
      this.failSlots(s.chunk, s.slots, e);
    }
  }

  private async runWrites(s: Segment, submission: Submission): Promise<void> {
    this.metrics.requests("resp", "write", s.writes.length);
    let writes = s.writes;
    let slots = s.slots;
    let commands = s.commands as WriteCommand[];
    try {
      if (this.limits.maxKeys > 0) {
        const refused = keyCountViolations(writes, this.limits, await this.backend.read("stale"));
        if (refused.some((v) => v !== null)) {
          const keep: number[] = [];
          refused.forEach((v, j) => {
            if (v === null) keep.push(j);
            else this.fill(s.chunk, slots[j] as number, r.error(`ERR limit ${v.message}`));
          });
          writes = keep.map((j) => writes[j] as KvWrite);
          slots = keep.map((j) => slots[j] as number);
          commands = keep.map((j) => commands[j] as WriteCommand);
          if (writes.length === 0) return;
        }
      }
      const t0 = performance.now();
      const pending = this.backend.writeBatch(writes);
      submission.markDone();
      const results: KvResult[] = await pending;
      this.metrics.writeBatch("resp", writes.length, (performance.now() - t0) / 1000);
      this.answerWrites(s.chunk, slots, commands, results);
    } catch (e) {
      this.failSlots(s.chunk, slots, e);
    } finally {
      submission.markDone();
    }
  }

  /** Fills the replies of `slots` from their writes' results, in order. */
  private answerWrites(
    chunk: ChunkReplies,
    slots: readonly number[],
    commands: readonly WriteCommand[],
    results: readonly KvResult[],
  ): void {
    for (let j = 0; j < slots.length; j++) {
      const result = results[j];
      this.fill(
        chunk,
        slots[j] as number,
        result === undefined
          ? r.error("ERR internal error: no result for a write")
          : (commands[j] as WriteCommand).answer(result),
      );
    }
  }

  private async runReads(s: Segment): Promise<void> {
    this.metrics.requests("resp", "read", s.slots.length);
    try {
      const mode = this.owner.options.readMode;
      const t0 = performance.now();
      const view = await this.backend.read(mode);
      this.metrics.readWait("resp", (performance.now() - t0) / 1000);
      // Answered in this same turn: the view is not read across an await.
      this.answerReads(s, view);
    } catch (e) {
      this.failSlots(s.chunk, s.slots, e);
    }
  }

  private failSlots(chunk: ChunkReplies, slots: readonly number[], e: unknown): void {
    const { reply, code } = backendErrorReply(e);
    this.metrics.error("resp", code);
    for (const slot of slots) if (chunk.replies[slot] === undefined) this.fill(chunk, slot, reply);
  }

  /** Writes every finished chunk at the head of the queue, together, in one socket write. */
  private flush(): void {
    let pieces: Buffer[] | null = null;
    let close = false;
    while (this.queue.length > 0 && (this.queue[0] as ChunkReplies).missing === 0) {
      const chunk = this.queue.shift() as ChunkReplies;
      pieces ??= [];
      for (const reply of chunk.replies) r.appendReply(pieces, reply as Reply);
      this.pendingCommands -= chunk.replies.length;
      if (chunk.closeAfter) {
        close = true;
        this.queue.length = 0;
        break;
      }
    }
    if (pieces === null || this.socket.destroyed) return;
    const data = pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces);
    if (close) {
      this.socket.end(data);
      return;
    }
    if (!this.socket.write(data)) this.socket.pause();
    else this.maybeResume();
  }

  private maybeResume(): void {
    if (
      !this.closing &&
      this.pendingCommands <= MAX_PENDING_COMMANDS &&
      !this.socket.writableNeedDrain
    ) {
      this.socket.resume();
    }
  }
}
