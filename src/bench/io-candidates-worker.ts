// Worker side of the I/O-thread micro-benchmark (io-thread-bench.ts): two ways a worker can
// take durable writes off the main thread. `mode` in workerData picks one:
//  - "atomics": the main thread copies bytes into a shared ring and bumps a request counter;
//    this worker sleeps in Atomics.wait on that counter, writes every request posted so far,
//    fdatasyncs once and bumps a done counter the main thread waits on
//    (with Atomics.waitAsync, or a postMessage when `reply` is "message");
//  - "transfer": each request is a message carrying an ArrayBuffer moved (not copied) here;
//    this worker writes it, fdatasyncs and moves it back in the reply.
import * as fs from "node:fs";
import { isMainThread, parentPort, workerData } from "node:worker_threads";

export interface AtomicsWorkerData {
  mode: "atomics";
  reply: "waitAsync" | "message";
  fd: number;
  /** Int32 control words: see the CTRL_* indexes. */
  control: SharedArrayBuffer;
  ring: SharedArrayBuffer;
}

export interface TransferWorkerData {
  mode: "transfer";
  fd: number;
}

/** Index of the request counter (main thread bumps it), the done counter, the stop flag. */
export const CTRL_REQUESTED = 0;
export const CTRL_DONE = 1;
export const CTRL_STOP = 2;
/** Per request: ring offset, length, file position (the ring holds up to 1,024 requests). */
export const CTRL_REQUESTS = 4;
export const MAX_REQUESTS = 1024;

function runAtomics(d: AtomicsWorkerData): void {
  const ctrl = new Int32Array(d.control);
  const ring = Buffer.from(d.ring);
  let done = 0;
  for (;;) {
    Atomics.wait(ctrl, CTRL_REQUESTED, done);
    if (Atomics.load(ctrl, CTRL_STOP) !== 0) return;
    const requested = Atomics.load(ctrl, CTRL_REQUESTED);
    // Every request posted since the last sync, then one fdatasync for all of them.
    for (let r = done; r < requested; r++) {
      const slot = CTRL_REQUESTS + (r % MAX_REQUESTS) * 3;
      fs.writeSync(d.fd, ring, ctrl[slot]!, ctrl[slot + 1]!, ctrl[slot + 2]!);
    }
    fs.fdatasyncSync(d.fd);
    done = requested;
    Atomics.store(ctrl, CTRL_DONE, done);
    if (d.reply === "message") parentPort!.postMessage(done);
    else Atomics.notify(ctrl, CTRL_DONE);
  }
}

function runTransfer(d: TransferWorkerData): void {
  parentPort!.on("message", (m: { buf: ArrayBuffer; length: number; position: number }) => {
    fs.writeSync(d.fd, new Uint8Array(m.buf, 0, m.length), 0, m.length, m.position);
    fs.fdatasyncSync(d.fd);
    parentPort!.postMessage(m.buf, [m.buf]);
  });
}

// The benchmark imports the constants above; only a worker runs a loop.
if (!isMainThread) {
  const data = workerData as AtomicsWorkerData | TransferWorkerData;
  if (data.mode === "atomics") runAtomics(data);
  else runTransfer(data);
}
