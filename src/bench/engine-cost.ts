// What applying costs an engine, per entry: batches of plain puts (the benchmark's proposals,
// uniform over a key space) applied at a paced rate, as a cluster node applies them, with the
// CPU time of this process's threads read from /proc before and after. CPU time rather than
// wall time: the lmdb engine does its work on lmdb's own write thread (and in the kernel,
// writing and syncing pages), where a wall-clock figure of the main thread sees none of it,
// and CPU time holds up on a machine shared with other work, where wall time does not.
import * as fs from "node:fs";
import { type Entry, EntryType } from "../raft/types.js";
import type { Engine } from "../storage/engine/engine.js";
import { proposalPayloadMaker } from "./payload.js";

export interface EngineCostCase {
  /** Entries per applyEntries call (one Ready's committed entries). */
  batch: number;
  /** Bytes of each proposal. */
  bytes: number;
  /** Milliseconds between batches (0: back to back, yielding to the event loop between). */
  everyMs: number;
  /** Measured time, in milliseconds, after a warm-up that fills the key space. */
  timeMs: number;
}

export interface EngineCost {
  entries: number;
  wallMs: number;
  /** CPU of the main thread, µs per applied entry (user + system). */
  mainUsPerEntry: number;
  /** CPU of every other thread of the process (lmdb's writer, V8's helpers), µs per entry. */
  otherUsPerEntry: number;
  /** System (kernel) part of the two, µs per entry. */
  systemUsPerEntry: number;
}

interface ThreadTimes {
  /** Thread id → [user, system] in clock ticks. */
  ticks: Map<string, [number, number]>;
}

/** Clock ticks per second of /proc's figures (USER_HZ, 100 on Linux). */
const USER_HZ = 100;
/** Entries applied before measuring: enough to write every key of the default space once. */
export const ENGINE_COST_WARMUP_ENTRIES = 131_072;

/** User and system ticks of every thread of this process, or undefined off Linux. */
function threadTimes(): ThreadTimes | undefined {
  let tasks: string[];
  try {
    tasks = fs.readdirSync("/proc/self/task");
  } catch {
    return undefined;
  }
  const ticks = new Map<string, [number, number]>();
  for (const t of tasks) {
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/self/task/${t}/stat`, "utf8");
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks.set(t, [Number(f[11]), Number(f[12])]);
  }
  return { ticks };
}

function cpuBetween(before: ThreadTimes, after: ThreadTimes, main: string) {
  let mainTicks = 0;
  let otherTicks = 0;
  let systemTicks = 0;
  for (const [t, [user, sys]] of after.ticks) {
    const [u0, s0] = before.ticks.get(t) ?? [0, 0];
    const spent = user - u0 + (sys - s0);
    if (t === main) mainTicks += spent;
    else otherTicks += spent;
    systemTicks += sys - s0;
  }
  const toUs = (ticks: number) => (ticks * 1e6) / USER_HZ;
  return { main: toUs(mainTicks), other: toUs(otherTicks), system: toUs(systemTicks) };
}

const pause = (ms: number): Promise<void> =>
  new Promise((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));

/** Applies paced batches to `engine` (warm-up first) and reports the CPU per entry. */
export async function measureEngineCost(engine: Engine, c: EngineCostCase): Promise<EngineCost> {
  const before0 = threadTimes();
  if (before0 === undefined) {
    throw new Error("engine cost: /proc/self/task is not readable (the figures need Linux)");
  }
  const makePayload = proposalPayloadMaker();
  let index = engine.appliedIndex() + 1;
  const nextBatch = (n: number): Entry[] => {
    const out: Entry[] = new Array(n);
    for (let k = 0; k < n; k++) {
      out[k] = { term: 1, index, type: EntryType.Normal, data: makePayload(0, index, c.bytes) };
      index++;
    }
    return out;
  };
  const warmBatch = 1024;
  for (let done = 0; done < ENGINE_COST_WARMUP_ENTRIES; done += warmBatch) {
    await engine.applyEntries(nextBatch(warmBatch));
    await pause(0);
  }
  await engine.flushed?.();
  const main = String(process.pid);
  const before = threadTimes()!;
  const start = performance.now();
  let entries = 0;
  while (performance.now() - start < c.timeMs) {
    await engine.applyEntries(nextBatch(c.batch));
    entries += c.batch;
    await pause(c.everyMs);
  }
  // The engine's queued work belongs to the batches measured.
  await engine.flushed?.();
  const wallMs = performance.now() - start;
  const cpu = cpuBetween(before, threadTimes()!, main);
  return {
    entries,
    wallMs,
    mainUsPerEntry: cpu.main / entries,
    otherUsPerEntry: cpu.other / entries,
    systemUsPerEntry: cpu.system / entries,
  };
}
