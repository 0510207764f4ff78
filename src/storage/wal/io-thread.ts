// The file WAL's I/O thread: a worker that performs writes and fdatasyncs in the order they
// are published, so the main thread never blocks on the disk (docs/decisions.md has the
// measurements behind this design).
//
// The main thread reserves space in a shared ring buffer and encodes records straight into
// it, then publishes commands (write ring bytes at a file position; fdatasync a file) into
// a shared command queue and wakes the worker with Atomics.notify, once per turn of the
// event loop (see wake()). The worker, asleep in
// Atomics.wait, executes every command published so far, one after the other, and after
// each fdatasync (and when it has caught up) publishes how many it has done and posts a
// message, so the main thread's event loop learns about it. Commands run strictly in
// order, so a write published after an fdatasync reaches the file only after that
// fdatasync returned: the WAL's durable-prefix flags rely on this.
//
// The main thread waits synchronously (Atomics.wait) only when the ring or the command
// queue is full, or when it must read bytes the worker has not written yet; both are rare.
// A failed command stops the worker from executing anything after it: the log is poisoned.
import {
  MessageChannel,
  type MessagePort,
  receiveMessageOnPort,
  Worker,
} from "node:worker_threads";
import { WalError } from "../errors.js";

/** Test only: make the `failAt`-th call of `op` (counted from 1) fail with errno `code`. */
export interface IoFault {
  op: "write" | "fdatasync";
  failAt: number;
  code: string;
}

const OP_WRITE = 1;
const OP_SYNC = 2;
const OP_SWITCH_RING = 3;
const OP_STOP = 4;

/** Control words: commands published, commands done, the failed command + 1 (0: none). */
const C_REQUESTED = 0;
const C_DONE = 1;
const C_FAILED = 2;
/** Never written: the worker sleeps on it for a simulated sync delay. */
const C_SLEEP = 3;
const CONTROL_WORDS = 4;
/** Per command: op, fd, ring offset, length (Int32), and the file position (Float64). */
const SLOT_WORDS = 4;
const SLOTS = 4096;
const DEFAULT_RING_BYTES = 8 << 20;

interface FailureReport {
  failed: number;
  code?: string;
  message: string;
}

/** Worker body, plain JavaScript evaluated as is (so it also runs when the rest is not compiled). */
const IO_WORKER = `
const fs = require("node:fs");
const { workerData, receiveMessageOnPort } = require("node:worker_threads");
const { control, slots, positions, port, faults, syncDelayMs } = workerData;
const ctrl = new Int32Array(control);
const slot = new Int32Array(slots);
const pos = new Float64Array(positions);
let ring = Buffer.from(workerData.ring);
const calls = { write: 0, fdatasync: 0 };
function maybeFail(op) {
  if (faults && faults.op === op && ++calls[op] >= faults.failAt) {
    throw Object.assign(new Error(faults.code + ": simulated"), { code: faults.code });
  }
}
function run(i) {
  const s = (i % ${SLOTS}) * ${SLOT_WORDS};
  const op = slot[s];
  if (op === ${OP_WRITE}) {
    const fd = slot[s + 1], at = slot[s + 2], length = slot[s + 3];
    let position = pos[i % ${SLOTS}];
    let done = 0;
    while (done < length) {
      maybeFail("write");
      const n = fs.writeSync(fd, ring, at + done, length - done, position + done);
      if (n <= 0) throw Object.assign(new Error("short write: " + done + " of " + length + " bytes"), { code: "EIO" });
      done += n;
    }
  } else if (op === ${OP_SYNC}) {
    maybeFail("fdatasync");
    fs.fdatasyncSync(slot[s + 1]);
    // A simulated slower disk: this thread sleeps, the event loop does not.
    if (syncDelayMs > 0) Atomics.wait(ctrl, ${C_SLEEP}, 0, syncDelayMs);
  } else if (op === ${OP_SWITCH_RING}) {
    ring = Buffer.from(receiveMessageOnPort(port).message);
  }
  return op;
}
let done = 0;
for (;;) {
  const requested = Atomics.load(ctrl, ${C_REQUESTED});
  if (requested === done) {
    Atomics.wait(ctrl, ${C_REQUESTED}, done);
    continue;
  }
  let op = 0;
  let told = false;
  try {
    while (done < requested) {
      op = run(done);
      done++;
      if (op === ${OP_STOP}) break;
      Atomics.store(ctrl, ${C_DONE}, done);
      told = false;
      if (op === ${OP_SYNC} && done < requested) {
        Atomics.notify(ctrl, ${C_DONE});
        port.postMessage(done);
        told = true;
      }
    }
  } catch (err) {
    Atomics.store(ctrl, ${C_FAILED}, done + 1);
    Atomics.notify(ctrl, ${C_DONE});
    port.postMessage({ failed: done, code: err && err.code, message: String(err && err.message) });
    break;
  }
  if (op === ${OP_STOP}) break;
  Atomics.notify(ctrl, ${C_DONE});
  if (!told) port.postMessage(done);
}
port.close();
`;

export interface IoThreadOptions {
  /** Milliseconds the thread sleeps after each fdatasync (a simulated slower disk). */
  syncDelayMs?: number;
  /** Initial ring size; it grows for requests larger than half of it. */
  ringBytes?: number;
  faults?: IoFault;
}

/** A region of the ring reserved for the caller to fill. */
export interface RingSpace {
  buf: Buffer;
  view: DataView;
  /** Offset of the region in `buf`. */
  at: number;
}

interface Reservation {
  start: number;
  end: number;
  /** The command that writes it, once published. */
  cmd: number;
}

/** The I/O thread and the shared memory it works from. */
export class IoThread {
  private readonly ctrl: Int32Array;
  private readonly slots: Int32Array;
  private readonly positions: Float64Array;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly exited: Promise<void>;
  private ring: Buffer;
  private ringView: DataView;
  /** Ring regions in allocation order, until the command writing them is done. */
  private reservations: Reservation[] = [];
  private reservationsHead = 0;
  /** Next free ring offset. */
  private tail = 0;
  private requested = 0;
  /** Commands published that the worker has not been woken for yet. */
  private unannounced = false;
  /** A microtask will wake the worker. */
  private wakeQueued = false;
  /** Whether the port keeps the event loop alive (commands are in flight). */
  private referenced = false;
  private failure: FailureReport | undefined;
  private stopped = false;

  /**
   * `onProgress` runs on the main thread's event loop whenever the worker has finished
   * commands (or failed); it reads done() and failed() to find out what.
   */
  constructor(
    private readonly onProgress: () => void,
    opts: IoThreadOptions = {},
  ) {
    const ringBytes = opts.ringBytes ?? DEFAULT_RING_BYTES;
    this.ctrl = new Int32Array(new SharedArrayBuffer(CONTROL_WORDS * 4));
    this.slots = new Int32Array(new SharedArrayBuffer(SLOTS * SLOT_WORDS * 4));
    this.positions = new Float64Array(new SharedArrayBuffer(SLOTS * 8));
    const ring = new SharedArrayBuffer(ringBytes);
    this.ring = Buffer.from(ring);
    this.ringView = new DataView(ring);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(IO_WORKER, {
      eval: true,
      workerData: {
        control: this.ctrl.buffer,
        slots: this.slots.buffer,
        positions: this.positions.buffer,
        ring,
        port: port2,
        faults: opts.faults,
        syncDelayMs: opts.syncDelayMs ?? 0,
      },
      transferList: [port2],
    });
    // The worker never keeps the process alive by itself; the port does while commands
    // are in flight, so an awaited append cannot be abandoned by an exiting event loop.
    this.worker.unref();
    this.port.on("message", (m: number | FailureReport) => this.onMessage(m));
    this.port.unref();
    this.exited = new Promise<void>((resolve) => {
      this.worker.once("exit", () => resolve());
      this.worker.once("error", (err) => {
        this.failure ??= { failed: this.done(), message: `I/O thread died: ${err.message}` };
        resolve();
        this.onProgress();
      });
    });
  }

  /** Commands published so far (the number of the next one). */
  published(): number {
    return this.requested;
  }

  /** Commands the worker has finished. */
  done(): number {
    return Atomics.load(this.ctrl, C_DONE);
  }

  /** Whether every published command is done. */
  idle(): boolean {
    return this.done() === this.requested;
  }

  /** The failed command's number and error, once the worker has reported it. */
  failed(): { cmd: number; code: string | undefined; message: string } | undefined {
    if (this.failure === undefined && Atomics.load(this.ctrl, C_FAILED) !== 0) this.drainMessages();
    const f = this.failure;
    return f === undefined ? undefined : { cmd: f.failed, code: f.code, message: f.message };
  }

  /**
   * Reserves `bytes` contiguous bytes of the ring. Returns undefined when that needs room
   * only the caller can free: it still holds reserved bytes it has not published; it should
   * publish them and ask again. Otherwise waits for the worker to free room if necessary,
   * and grows the ring for a request larger than half of it.
   */
  reserve(bytes: number): RingSpace | undefined {
    for (;;) {
      this.reclaim();
      const at = this.fit(bytes);
      if (at !== undefined) {
        this.reservations.push({ start: at, end: at + bytes, cmd: -1 });
        this.tail = at + bytes;
        return { buf: this.ring, view: this.ringView, at };
      }
      const last = this.reservations.at(-1);
      if (last !== undefined && last.cmd < 0) return undefined;
      if (bytes * 2 > this.ring.length) this.grow(bytes);
      else this.waitFor(this.reservations[this.reservationsHead]!.cmd);
    }
  }

  /** Publishes a write of ring bytes [at, at + length) at `position` of `fd`; returns its number. */
  write(fd: number, at: number, length: number, position: number): number {
    const cmd = this.publish(OP_WRITE, fd, at, length, position);
    const r = this.reservations;
    for (let i = this.reservationsHead; i < r.length; i++) {
      const res = r[i]!;
      if (res.cmd < 0 && res.start >= at && res.end <= at + length) res.cmd = cmd;
    }
    return cmd;
  }

  /** Publishes an fdatasync of `fd`; returns its number. */
  sync(fd: number): number {
    return this.publish(OP_SYNC, fd, 0, 0, 0);
  }

  /** Blocks the calling thread until command `cmd` is done; throws if the worker failed. */
  waitFor(cmd: number): void {
    this.wake();
    for (;;) {
      const done = this.done();
      if (done > cmd) return;
      if (Atomics.load(this.ctrl, C_FAILED) !== 0) {
        const f = this.failed();
        throw new WalError("io-failed", f?.message ?? "I/O thread failed", { errno: f?.code });
      }
      Atomics.wait(this.ctrl, C_DONE, done, 1000);
    }
  }

  /** Stops the worker once every published command is done. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (Atomics.load(this.ctrl, C_FAILED) === 0) this.publish(OP_STOP, 0, 0, 0, 0);
    else await this.worker.terminate();
    this.worker.ref();
    await this.exited;
    this.port.close();
  }

  private publish(op: number, fd: number, at: number, length: number, position: number): number {
    if (this.stopped && op !== OP_STOP)
      throw new WalError("closed", "wal: the I/O thread is stopped");
    // A full queue: wait for the oldest slot to be free.
    if (this.requested - this.done() >= SLOTS) this.waitFor(this.requested - SLOTS);
    const cmd = this.requested;
    const s = (cmd % SLOTS) * SLOT_WORDS;
    this.slots[s] = op;
    this.slots[s + 1] = fd;
    this.slots[s + 2] = at;
    this.slots[s + 3] = length;
    this.positions[cmd % SLOTS] = position;
    this.requested = cmd + 1;
    Atomics.store(this.ctrl, C_REQUESTED, this.requested);
    this.unannounced = true;
    if (!this.wakeQueued) {
      this.wakeQueued = true;
      queueMicrotask(this.wakeFromMicrotask);
    }
    if (!this.referenced) {
      this.referenced = true;
      this.port.ref();
    }
    return cmd;
  }

  /**
   * Wakes the worker for the commands published since it was last woken. Called from a
   * microtask, so that an append's write and fdatasync, and every append of the same turn,
   * take one wake-up (an Atomics.notify that finds the worker asleep is a futex wake, and on
   * two cores the woken thread often preempts this one), and so that the messages a turn
   * sends before its local append (parallel-append's MsgApps, flushed by an earlier
   * microtask) reach the socket before the I/O thread competes for the CPU. Waiting on the
   * worker synchronously wakes it first.
   */
  private wake(): void {
    if (!this.unannounced) return;
    this.unannounced = false;
    Atomics.notify(this.ctrl, C_REQUESTED);
  }

  private readonly wakeFromMicrotask = (): void => {
    this.wakeQueued = false;
    this.wake();
  };

  private onMessage(m: number | FailureReport): void {
    if (typeof m !== "number") this.failure ??= m;
    if (this.referenced && (this.idle() || this.failure !== undefined)) {
      this.referenced = false;
      this.port.unref();
    }
    this.onProgress();
  }

  /** Takes the worker's messages now, without waiting for the event loop. */
  private drainMessages(): void {
    let m = receiveMessageOnPort(this.port);
    while (m !== undefined) {
      const msg = m.message as number | FailureReport;
      if (typeof msg !== "number") this.failure ??= msg;
      m = receiveMessageOnPort(this.port);
    }
    if (this.failure !== undefined && this.referenced) {
      this.referenced = false;
      this.port.unref();
    }
  }

  /** Frees the regions whose writes are done. */
  private reclaim(): void {
    const done = this.done();
    const r = this.reservations;
    while (this.reservationsHead < r.length) {
      const res = r[this.reservationsHead]!;
      if (res.cmd < 0 || res.cmd >= done) break;
      this.reservationsHead++;
    }
    if (this.reservationsHead === r.length) {
      this.reservations = [];
      this.reservationsHead = 0;
      this.tail = 0;
    } else if (this.reservationsHead > 1024) {
      this.reservations = r.slice(this.reservationsHead);
      this.reservationsHead = 0;
    }
  }

  /** Where `bytes` fit after the live regions, or undefined. */
  private fit(bytes: number): number | undefined {
    const size = this.ring.length;
    if (this.reservationsHead === this.reservations.length) return bytes <= size ? 0 : undefined;
    const head = this.reservations[this.reservationsHead]!.start;
    if (this.tail > head) {
      if (this.tail + bytes <= size) return this.tail;
      // Wrap around; strictly below head, so a full ring is never taken for an empty one.
      return bytes < head ? 0 : undefined;
    }
    return this.tail + bytes < head ? this.tail : undefined;
  }

  /** Moves to a ring that holds at least two requests of `bytes`. */
  private grow(bytes: number): void {
    let size = this.ring.length * 2;
    while (size < bytes * 2) size *= 2;
    const ring = new SharedArrayBuffer(size);
    // The worker picks the new ring up when it reaches this command, after every write
    // published before it has used the old one.
    this.port.postMessage(ring);
    this.publish(OP_SWITCH_RING, 0, 0, 0, 0);
    this.ring = Buffer.from(ring);
    this.ringView = new DataView(ring);
    this.reservations = [];
    this.reservationsHead = 0;
    this.tail = 0;
  }
}
