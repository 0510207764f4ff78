// Micro-benchmark of the ways to make a write durable without blocking the event loop, to
// choose the file WAL's I/O thread (docs/decisions.md records the figures and the choice).
// Every case writes `batch` × 4 KiB at the next position of a zero-filled file (as the WAL
// overwrites its preallocated segments) and fdatasyncs, one request at a time:
//   sync          writeSync + fdatasyncSync on the main thread (the floor; blocks the loop)
//   libuv         fs.write + fs.fdatasync callbacks on the libuv thread pool
//   atomics       a dedicated worker asleep in Atomics.wait, bytes through a shared ring,
//                 completion seen by the main thread through Atomics.waitAsync
//   atomics-msg   the same, completion reported by a postMessage from the worker
//   transfer      each request's buffer moved to a worker with postMessage and moved back
// Per case: latency p50/p99 per request, ns/op, MB/s, and `loop-busy`: the share of the
// time the main thread's event loop was busy (1 means it could do nothing else).
//
//   npm run bench:io -- [--mode sync,libuv,...] [--batch 1,16,64] [--time ms] [--dir d]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import {
  type CommandSpec,
  choiceList,
  positiveIntList,
  runCommand,
  text,
} from "../command/command.js";
import { UsageError } from "../errors/errors.js";
import { formatGoBenchLine, withParallelism } from "./go-format.js";
import {
  type AtomicsWorkerData,
  CTRL_DONE,
  CTRL_REQUESTED,
  CTRL_REQUESTS,
  CTRL_STOP,
  MAX_REQUESTS,
  type TransferWorkerData,
} from "./io-candidates-worker.js";

export const IO_MODES = ["sync", "libuv", "atomics", "atomics-msg", "transfer"] as const;
type IoMode = (typeof IO_MODES)[number];
const BLOCK_BYTES = 4096;
const FILE_BYTES = 64 << 20;
const RING_BYTES = 8 << 20;
const WORKER_URL = new URL("./io-candidates-worker.js", import.meta.url);

/** Atomics.waitAsync (Node 16+), missing from the ES2023 library typings. */
const waitAsync = (
  Atomics as unknown as {
    waitAsync(
      a: Int32Array,
      i: number,
      v: number,
    ): { async: false; value: string } | { async: true; value: Promise<string> };
  }
).waitAsync;

export interface IoBenchOptions {
  modes: IoMode[];
  batches: number[];
  timeMs: number;
  dir: string;
}

/** One way of making `length` bytes durable at `position`, one request at a time. */
interface Candidate {
  /** Writes `length` bytes of the candidate's buffer at `position` and syncs them. */
  write(length: number, position: number): Promise<void> | void;
  close(): Promise<void>;
}

function fillPattern(buf: Uint8Array): void {
  for (let i = 0; i < buf.length; i++) buf[i] = (i * 131 + 7) & 0xff;
}

function syncCandidate(fd: number, maxBytes: number): Candidate {
  const buf = Buffer.alloc(maxBytes);
  fillPattern(buf);
  return {
    write(length, position) {
      fs.writeSync(fd, buf, 0, length, position);
      fs.fdatasyncSync(fd);
    },
    async close() {},
  };
}

function libuvCandidate(fd: number, maxBytes: number): Candidate {
  const buf = Buffer.alloc(maxBytes);
  fillPattern(buf);
  return {
    write(length, position) {
      return new Promise((resolve, reject) => {
        fs.write(fd, buf, 0, length, position, (err) => {
          if (err) return reject(err);
          fs.fdatasync(fd, (err2) => (err2 ? reject(err2) : resolve()));
        });
      });
    },
    async close() {},
  };
}

function atomicsCandidate(fd: number, reply: "waitAsync" | "message"): Candidate {
  const control = new SharedArrayBuffer(4 * (CTRL_REQUESTS + 3 * MAX_REQUESTS));
  const ring = new SharedArrayBuffer(RING_BYTES);
  const ctrl = new Int32Array(control);
  const bytes = new Uint8Array(ring);
  const source = new Uint8Array(RING_BYTES);
  fillPattern(source);
  const data: AtomicsWorkerData = { mode: "atomics", reply, fd, control, ring };
  const worker = new Worker(WORKER_URL, { workerData: data });
  let requested = 0;
  let ringAt = 0;
  let waiter: (() => void) | undefined;
  worker.on("message", () => {
    const w = waiter;
    waiter = undefined;
    w?.();
  });
  return {
    async write(length, position) {
      if (ringAt + length > RING_BYTES) ringAt = 0;
      // The copy into shared memory is part of the cost: the WAL builds records elsewhere.
      bytes.set(source.subarray(0, length), ringAt);
      const slot = CTRL_REQUESTS + (requested % MAX_REQUESTS) * 3;
      ctrl[slot] = ringAt;
      ctrl[slot + 1] = length;
      ctrl[slot + 2] = position;
      ringAt += length;
      requested++;
      const done = requested - 1;
      Atomics.store(ctrl, CTRL_REQUESTED, requested);
      Atomics.notify(ctrl, CTRL_REQUESTED);
      if (reply === "message") {
        await new Promise<void>((resolve) => {
          waiter = resolve;
        });
        return;
      }
      while (Atomics.load(ctrl, CTRL_DONE) === done) {
        const r = waitAsync(ctrl, CTRL_DONE, done);
        if (r.async) await r.value;
      }
    },
    async close() {
      Atomics.store(ctrl, CTRL_STOP, 1);
      Atomics.add(ctrl, CTRL_REQUESTED, 1);
      Atomics.notify(ctrl, CTRL_REQUESTED);
      await new Promise((resolve) => worker.once("exit", resolve));
    },
  };
}

function transferCandidate(fd: number, maxBytes: number): Candidate {
  const data: TransferWorkerData = { mode: "transfer", fd };
  const worker = new Worker(WORKER_URL, { workerData: data });
  let buf: ArrayBuffer | undefined = new ArrayBuffer(maxBytes);
  fillPattern(new Uint8Array(buf));
  let waiter: ((b: ArrayBuffer) => void) | undefined;
  worker.on("message", (b: ArrayBuffer) => {
    const w = waiter;
    waiter = undefined;
    w?.(b);
  });
  return {
    async write(length, position) {
      const b = buf!;
      buf = undefined;
      buf = await new Promise<ArrayBuffer>((resolve) => {
        waiter = resolve;
        worker.postMessage({ buf: b, length, position }, [b]);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}

function openCandidate(mode: IoMode, fd: number, maxBytes: number): Candidate {
  switch (mode) {
    case "sync":
      return syncCandidate(fd, maxBytes);
    case "libuv":
      return libuvCandidate(fd, maxBytes);
    case "atomics":
      return atomicsCandidate(fd, "waitAsync");
    case "atomics-msg":
      return atomicsCandidate(fd, "message");
    case "transfer":
      return transferCandidate(fd, maxBytes);
  }
}

function zeroFilledFile(file: string): number {
  const fd = fs.openSync(file, "w+");
  const zeros = Buffer.alloc(1 << 20);
  for (let at = 0; at < FILE_BYTES; at += zeros.length)
    fs.writeSync(fd, zeros, 0, zeros.length, at);
  fs.fsyncSync(fd);
  return fd;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function runCase(fd: number, mode: IoMode, batch: number, timeMs: number): Promise<string> {
  const length = batch * BLOCK_BYTES;
  const candidate = openCandidate(mode, fd, length);
  try {
    let position = 0;
    const one = async () => {
      if (position + length > FILE_BYTES) position = 0;
      await candidate.write(length, position);
      position += length;
    };
    // Warm-up: the worker starts, the file's pages are faulted in.
    const warmUntil = performance.now() + Math.min(300, timeMs / 4);
    while (performance.now() < warmUntil) await one();
    const latencies: number[] = [];
    const elu0 = performance.eventLoopUtilization();
    const start = performance.now();
    const end = start + timeMs;
    let now = start;
    while (now < end) {
      await one();
      const t = performance.now();
      latencies.push(t - now);
      now = t;
    }
    const elapsed = now - start;
    const busy = performance.eventLoopUtilization(elu0).utilization;
    const sorted = Float64Array.from(latencies).sort();
    const nsPerOp = (elapsed * 1e6) / latencies.length;
    return formatGoBenchLine(
      withParallelism(`BenchmarkIoThread/mode=${mode}/batch=${batch}`),
      latencies.length,
      [
        { value: nsPerOp, unit: "ns/op" },
        { value: (length * 1e3) / nsPerOp, unit: "MB/s" },
        { value: percentile(sorted, 0.5) * 1e6, unit: "p50-ns" },
        { value: percentile(sorted, 0.99) * 1e6, unit: "p99-ns" },
        { value: busy, unit: "loop-busy" },
      ],
    );
  } finally {
    await candidate.close();
  }
}

export async function runIoBench(opts: IoBenchOptions, emit: (l: string) => void): Promise<void> {
  const file = path.join(opts.dir, `rafttoy-iobench-${process.pid}`);
  const fd = zeroFilledFile(file);
  try {
    for (const batch of opts.batches) {
      for (const mode of opts.modes) emit(await runCase(fd, mode, batch, opts.timeMs));
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

export const IO_BENCH: CommandSpec<IoBenchOptions> = {
  name: "io-thread-bench",
  usage: `$0 [--mode LIST] [--batch LIST] [--time MS] [--dir DIR]

Writes batches of 4 KiB blocks and fdatasyncs them, one request at a time, by each way of keeping the event loop free.`,
  flags: (y) =>
    y
      .option("mode", {
        type: "string",
        describe: `modes, comma-separated (default ${IO_MODES.join(",")})`,
      })
      .option("batch", { type: "string", describe: "4 KiB blocks per write (default 1,16,64)" })
      .option("time", { type: "string", describe: "milliseconds per case (default 2000)" })
      .option("dir", { type: "string", describe: "where the file goes (default the OS temp dir)" }),
  read: (raw) => {
    const batches = positiveIntList(raw, "batch") ?? [1, 16, 64];
    if (batches.some((b) => b * BLOCK_BYTES > RING_BYTES / 2)) {
      throw new UsageError(`--batch: at most ${RING_BYTES / 2 / BLOCK_BYTES} blocks of 4 KiB`);
    }
    return {
      modes: choiceList(raw, "mode", "mode", IO_MODES) ?? [...IO_MODES],
      batches,
      timeMs: positiveIntList(raw, "time")?.[0] ?? 2000,
      dir: text(raw, "dir") ?? os.tmpdir(),
    };
  },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await runCommand(IO_BENCH, process.argv.slice(2), async (opts) => {
    await runIoBench(opts, (l) => process.stdout.write(`${l}\n`));
    return 0;
  });
}
