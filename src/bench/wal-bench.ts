// WAL micro-benchmark: synced appends of `batch` entries of `bytes` bytes each, for every
// Wal implementation, next to the physical floor (a 4 KiB append + fdatasync on the same
// disk, and the same for each larger batch size selected). With the file WAL, also a 4 KiB
// synchronous overwrite of a zero-filled file, by pwrite + fdatasync and by an O_DSYNC
// pwrite (what the WAL's write costs without its I/O thread). One Go-style line per case;
// ns/op is per append call.
//
// With --engine, the engines too (engine-cost.ts): the same batches applied as plain puts,
// one batch every --every milliseconds, reported as CPU µs per applied entry of the main
// thread and of the process's other threads (where lmdb commits); --wal none leaves out the
// WAL cases.
//
//   npm run bench:wal -- [--wal mem,file,lmdb|none] [--batch 1,4,...] [--bytes 8,64,...]
//                        [--engine mem,lmdb] [--every ms-between-batches]
//                        [--time ms-per-case] [--dir where-to-write]
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { Bench } from "tinybench";
import {
  type CommandSpec,
  choiceList,
  positiveIntList,
  runCommand,
  text,
} from "../command/command.js";
import { type Entry, EntryType } from "../raft/types.js";
import { engineKinds, openEngine } from "../storage/engine/registry.js";
import { openWal, walKinds } from "../storage/wal/registry.js";
import type { Wal } from "../storage/wal/wal.js";
import { measureEngineCost } from "./engine-cost.js";
import { type BenchMetric, formatGoBenchLine, withParallelism } from "./go-format.js";

export const WAL_BATCHES: readonly number[] = [1, 4, 16, 64, 256, 1024];
export const WAL_BYTES: readonly number[] = [8, 64, 256, 4096];
const FLOOR_BYTES = 4096;

export interface WalBenchOptions {
  wals: string[];
  batches: number[];
  bytes: number[];
  /** Measured time per case, in milliseconds. */
  timeMs: number;
  /** Directory the logs and the floor file are written in (the disk being measured). */
  dir: string;
  /** Engines whose apply cost is measured (none by default). */
  engines: string[];
  /** Milliseconds between the engine cases' batches. */
  everyMs: number;
}

export interface WalBenchLine {
  name: string;
  iterations: number;
  metrics: BenchMetric[];
}

/** Default pause between an engine case's batches: about a Ready's pace in a busy cluster. */
const DEFAULT_EVERY_MS = 2;

export const WAL_BENCH: CommandSpec<WalBenchOptions> = {
  name: "wal-bench",
  usage: `$0 [--wal LIST|none] [--batch LIST] [--bytes LIST] [--time MS] [--dir DIR] [--engine LIST] [--every MS]

Appends batches of entries to each WAL and syncs them: the floors first, then one Go-style line per case; with --engine, what applying costs each engine.`,
  flags: (y) =>
    y
      .option("wal", {
        type: "string",
        describe: `WALs, comma-separated, or none (default ${walKinds.join(",")})`,
      })
      .option("batch", {
        type: "string",
        describe: `entries per append (default ${WAL_BATCHES.join(",")})`,
      })
      .option("bytes", {
        type: "string",
        describe: `bytes per entry (default ${WAL_BYTES.join(",")})`,
      })
      .option("time", { type: "string", describe: "milliseconds per case (default 700)" })
      .option("dir", { type: "string", describe: "where the files go (default the OS temp dir)" })
      .option("engine", {
        type: "string",
        describe: `engines whose apply cost is measured, comma-separated (default none): ${engineKinds.join(", ")}`,
      })
      .option("every", {
        type: "string",
        describe: `milliseconds between the engine cases' batches, 0 for none (default ${DEFAULT_EVERY_MS})`,
      }),
  read: (raw) => {
    const every = text(raw, "every");
    return {
      wals:
        text(raw, "wal") === "none"
          ? []
          : (choiceList(raw, "wal", "wal", walKinds) ?? [...walKinds]),
      batches: positiveIntList(raw, "batch") ?? [...WAL_BATCHES],
      bytes: positiveIntList(raw, "bytes") ?? [...WAL_BYTES],
      timeMs: positiveIntList(raw, "time")?.[0] ?? 700,
      dir: text(raw, "dir") ?? os.tmpdir(),
      engines: choiceList(raw, "engine", "engine", engineKinds) ?? [],
      everyMs: every === "0" ? 0 : (positiveIntList(raw, "every")?.[0] ?? DEFAULT_EVERY_MS),
    };
  },
};

async function measure(
  timeMs: number,
  fn: () => unknown,
): Promise<{ iterations: number; nsPerOp: number }> {
  const bench = new Bench({ time: timeMs, warmupTime: Math.min(200, timeMs / 4) });
  bench.add("case", fn);
  await bench.run();
  const task = bench.tasks[0]!;
  const r = task.result;
  if (r.state !== "completed") {
    const why = r.state === "errored" ? `: ${(r.error as Error).message}` : "";
    throw new Error(`benchmark ${r.state}${why}`);
  }
  return { iterations: task.runs, nsPerOp: r.period * 1e6 };
}

/**
 * Times `op` (one synchronous write of `bytes` and its sync on `fd`), as the line `name`;
 * closes `fd` and removes `file` afterwards.
 */
async function timeSyncedWrites(
  name: string,
  file: string,
  fd: number,
  bytes: number,
  timeMs: number,
  op: () => void,
): Promise<WalBenchLine> {
  try {
    const { iterations, nsPerOp } = await measure(timeMs, op);
    return {
      name: withParallelism(name),
      iterations,
      metrics: [
        { value: nsPerOp, unit: "ns/op" },
        { value: (bytes * 1e3) / nsPerOp, unit: "MB/s" },
      ],
    };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
}

/** The floor: append `bytes` to a growing file and fdatasync it, with synchronous calls. */
function fdatasyncFloor(dir: string, bytes: number, timeMs: number): Promise<WalBenchLine> {
  const file = path.join(dir, `fdatasync-floor-${process.pid}`);
  const fd = fs.openSync(file, "w");
  const block = Buffer.alloc(bytes, 0x5a);
  return timeSyncedWrites(`BenchmarkFdatasync/bytes=${bytes}`, file, fd, bytes, timeMs, () => {
    fs.writeSync(fd, block);
    fs.fdatasyncSync(fd);
  });
}

/** Bytes of the zero-filled file the overwrite cases cycle through. */
const OVERWRITE_FILE_BYTES = 16 << 20;

/**
 * What the file WAL's own write costs without its I/O thread: `bytes` written over a
 * zero-filled file (as into a WAL segment: no block to allocate, unlike the floor's growing
 * file) and made durable, either by pwrite + fdatasync (the WAL's commands) or by one pwrite
 * on an O_DSYNC descriptor; synchronous calls. Beside BenchmarkWal/wal=file, the difference is
 * what the hops to and from the I/O thread cost.
 */
async function overwriteSync(
  dir: string,
  bytes: number,
  mode: "fdatasync" | "o_dsync",
  timeMs: number,
): Promise<WalBenchLine> {
  const file = path.join(dir, `overwrite-${mode}-${process.pid}`);
  const zeroFd = fs.openSync(file, "w");
  try {
    fs.writeSync(zeroFd, Buffer.alloc(OVERWRITE_FILE_BYTES));
    fs.fsyncSync(zeroFd);
  } finally {
    fs.closeSync(zeroFd);
  }
  const { O_RDWR, O_DSYNC } = fs.constants;
  const fd = fs.openSync(file, mode === "o_dsync" ? O_RDWR | O_DSYNC : O_RDWR);
  const block = Buffer.alloc(bytes, 0x5a);
  let at = 0;
  const name = `BenchmarkOverwriteSync/mode=${mode}/bytes=${bytes}`;
  return timeSyncedWrites(name, file, fd, bytes, timeMs, () => {
    if (at + bytes > OVERWRITE_FILE_BYTES) at = 0;
    fs.writeSync(fd, block, 0, bytes, at);
    if (mode === "fdatasync") fs.fdatasyncSync(fd);
    at += bytes;
  });
}

async function walCase(
  kind: string,
  batch: number,
  bytes: number,
  opts: WalBenchOptions,
): Promise<{ line: WalBenchLine; syncMode: string }> {
  const dir = fs.mkdtempSync(path.join(opts.dir, `rafttoy-walbench-${kind}-`));
  let wal: Wal | undefined;
  try {
    wal = await openWal(kind, { dir });
    const w = wal;
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i++) data[i] = (i * 131 + 7) & 0xff;
    let next = 1;
    const { iterations, nsPerOp } = await measure(opts.timeMs, async () => {
      const entries: Entry[] = new Array(batch);
      for (let k = 0; k < batch; k++) {
        entries[k] = { index: next + k, term: 1, type: EntryType.Normal, data };
      }
      next += batch;
      await w.append(entries, { sync: true });
      // An in-memory log would hold every entry of the run: keep it bounded.
      if (kind === "mem" && next - w.firstIndex() > 1 << 16) await w.compact(next - 1);
    });
    const line: WalBenchLine = {
      name: withParallelism(`BenchmarkWal/wal=${kind}/batch=${batch}/bytes=${bytes}`),
      iterations,
      metrics: [
        { value: nsPerOp, unit: "ns/op" },
        { value: (batch * bytes * 1e3) / nsPerOp, unit: "MB/s" },
      ],
    };
    return { line, syncMode: wal.syncMode };
  } finally {
    await wal?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** One engine case: CPU per applied entry, main thread and the rest. */
async function engineCase(
  kind: string,
  batch: number,
  bytes: number,
  opts: WalBenchOptions,
): Promise<WalBenchLine> {
  const dir = fs.mkdtempSync(path.join(opts.dir, `rafttoy-walbench-engine-${kind}-`));
  const engine = await openEngine(kind, { dir });
  try {
    const cost = await measureEngineCost(engine, {
      batch,
      bytes,
      everyMs: opts.everyMs,
      timeMs: opts.timeMs,
    });
    return {
      name: withParallelism(
        `BenchmarkEngine/engine=${kind}/batch=${batch}/bytes=${bytes}/every=${opts.everyMs}ms`,
      ),
      iterations: cost.entries,
      metrics: [
        { value: cost.mainUsPerEntry, unit: "main-cpu-us/entry" },
        { value: cost.otherUsPerEntry, unit: "other-cpu-us/entry" },
        { value: cost.systemUsPerEntry, unit: "sys-cpu-us/entry" },
        { value: (cost.entries * 1e3) / cost.wallMs, unit: "entries/s" },
      ],
    };
  } finally {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the floor, then every selected case; `emit` receives each output line. */
export async function runWalBench(
  opts: WalBenchOptions,
  emit: (line: string) => void,
): Promise<void> {
  fs.mkdirSync(opts.dir, { recursive: true });
  const print = (l: WalBenchLine) => emit(formatGoBenchLine(l.name, l.iterations, l.metrics));
  // The 4 KiB floor, then one per larger batch size selected: "floor + the time to write
  // the bytes" for a big batch is the fdatasync of that many bytes.
  const floorSizes = new Set([FLOOR_BYTES]);
  for (const batch of opts.batches) {
    for (const bytes of opts.bytes) if (batch * bytes > FLOOR_BYTES) floorSizes.add(batch * bytes);
  }
  for (const size of [...floorSizes].sort((a, b) => a - b)) {
    print(await fdatasyncFloor(opts.dir, size, opts.timeMs));
  }
  if (opts.wals.includes("file")) {
    for (const mode of ["fdatasync", "o_dsync"] as const) {
      print(await overwriteSync(opts.dir, FLOOR_BYTES, mode, opts.timeMs));
    }
  }
  for (const kind of opts.wals) {
    let described = false;
    for (const batch of opts.batches) {
      for (const bytes of opts.bytes) {
        const { line, syncMode } = await walCase(kind, batch, bytes, opts);
        if (!described) {
          emit(`# wal=${kind}: ${syncMode}`);
          described = true;
        }
        print(line);
      }
    }
  }
  for (const kind of opts.engines) {
    for (const batch of opts.batches) {
      for (const bytes of opts.bytes) print(await engineCase(kind, batch, bytes, opts));
    }
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await runCommand(WAL_BENCH, process.argv.slice(2), async (opts) => {
    await runWalBench(opts, (l) => process.stdout.write(`${l}\n`));
    return 0;
  });
}
