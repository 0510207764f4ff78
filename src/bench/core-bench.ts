// The Raft core's speed of light: a 3-node cluster in one process, no I/O, no encoding
// (messages are handed from one RawNode to the next as objects), synchronous storage in
// MemoryStorage. One operation is one 256-byte proposal; ns/op is wall time per proposal
// committed and applied on the leader (the followers' work, including their own applies,
// runs on the same thread and is inside that time).
//
//   npm run bench:core          (node dist/src/bench/core-bench.js [--time ms])
import { pathToFileURL } from "node:url";
import { Bench } from "tinybench";
import { type CommandSpec, intInRange, runCommand, text } from "../command/command.js";
import { UsageError } from "../errors/errors.js";
import { MemoryStorage } from "../raft/memory-storage.js";
import { RawNode } from "../raft/rawnode.js";
import { SeededRng } from "../raft/rng.js";
import type { Message } from "../raft/types.js";
import { formatGoBenchLine, withParallelism } from "./go-format.js";

const PAYLOAD_BYTES = 256;
const BATCHES = [1, 64, 1024] as const;
/** Keep this many applied entries in each log; compact the rest. */
const RETAINED_ENTRIES = 4096;

interface Member {
  raw: RawNode;
  storage: MemoryStorage;
  applied: number;
}

/** Three RawNodes wired together in memory, driven to quiescence by `pump`. */
export class InProcessCluster {
  private readonly members: Member[] = [];
  private readonly mailbox: Message[] = [];

  constructor(size = 3) {
    const ids = Array.from({ length: size }, (_, i) => i + 1);
    for (const id of ids) {
      const storage = new MemoryStorage();
      const raw = new RawNode({
        id,
        electionTick: 10,
        heartbeatTick: 1,
        storage,
        maxSizePerMsg: 1 << 20,
        maxInflightMsgs: 256,
        maxCommittedSizePerReady: 1 << 30,
        rng: new SeededRng(id),
      });
      raw.bootstrap(ids);
      this.members.push({ raw, storage, applied: 0 });
    }
    // The bootstrap's configuration changes must be applied before anyone may campaign.
    for (const m of this.members) this.handleReady(m);
    this.members[0]!.raw.campaign();
    this.pumpUntil(() => this.members[0]!.raw.status().role === "leader");
  }

  get leader(): RawNode {
    return this.members[0]!.raw;
  }

  get leaderApplied(): number {
    return this.members[0]!.applied;
  }

  /** Persists, sends and applies what every node has ready, delivering messages, until `done`. */
  pumpUntil(done: () => boolean): void {
    for (let rounds = 0; !done(); rounds++) {
      if (rounds > 1_000_000) throw new Error("cluster made no progress");
      for (const m of this.members) this.handleReady(m);
      const inbox = this.mailbox.splice(0);
      for (const msg of inbox) this.members[msg.to - 1]!.raw.step(msg);
    }
  }

  private handleReady(m: Member): void {
    const raw = m.raw;
    if (!raw.hasReady()) return;
    const rd = raw.ready();
    if (rd.snapshot !== undefined) m.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) m.storage.append(rd.entries);
    if (rd.hardState !== undefined) m.storage.setHardState(rd.hardState);
    for (const msg of rd.messages) this.mailbox.push(msg);
    // Applying is counting: the state machine is not what is measured. The only conf
    // changes are the bootstrap's, which the core already has in force.
    const committed = rd.committedEntries;
    if (committed.length > 0) {
      m.applied = committed[committed.length - 1]!.index;
      const compactTo = m.applied - RETAINED_ENTRIES;
      if (compactTo > m.storage.firstIndex() + RETAINED_ENTRIES) m.storage.compact(compactTo);
    }
    raw.advance(rd);
  }
}

export interface CoreBenchResult {
  batch: number;
  proposals: number;
  nsPerOp: number;
}

export async function runCoreBench(
  timeMs: number,
  batches: readonly number[] = BATCHES,
): Promise<CoreBenchResult[]> {
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(7);
  const results: CoreBenchResult[] = [];
  for (const batch of batches) {
    const cluster = new InProcessCluster();
    const datas = new Array<Uint8Array>(batch).fill(payload);
    const bench = new Bench({ time: timeMs, warmupTime: Math.min(500, timeMs / 4) });
    bench.add(`batch=${batch}`, () => {
      const target = cluster.leaderApplied + batch;
      cluster.leader.proposeBatch(datas);
      cluster.pumpUntil(() => cluster.leaderApplied >= target);
    });
    await bench.run();
    const task = bench.tasks[0]!;
    const r = task.result;
    if (r.state !== "completed") throw new Error(`batch=${batch}: benchmark ${r.state}`);
    results.push({ batch, proposals: task.runs * batch, nsPerOp: (r.period * 1e6) / batch });
  }
  return results;
}

/** `--time ms` (per case) and `--batch n` (one case only). */
const CORE_BENCH: CommandSpec<{ timeMs: number; batches: readonly number[] }> = {
  name: "core-bench",
  usage: `$0 [--time MS] [--batch N]

The Raft core's speed of light: three RawNodes in one process, no I/O, ${PAYLOAD_BYTES}-byte proposals; one Go-style line per batch size.`,
  flags: (y) =>
    y
      .option("time", { type: "string", describe: "milliseconds per case (default 2000)" })
      .option("batch", {
        type: "string",
        describe: `run this batch size only (default ${BATCHES.join(", ")})`,
      }),
  read: (raw) => {
    const time = text(raw, "time");
    const timeMs = time === undefined ? 2000 : Number(time);
    if (!Number.isFinite(timeMs) || timeMs <= 0) {
      throw new UsageError(`--time must be a number of milliseconds above 0, got "${time}"`);
    }
    const batch = text(raw, "batch");
    const batches =
      batch === undefined ? BATCHES : [intInRange("batch", batch, 1, Number.MAX_SAFE_INTEGER)];
    return { timeMs, batches };
  },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await runCommand(CORE_BENCH, process.argv.slice(2), async (parsed) => {
    for (const r of await runCoreBench(parsed.timeMs, parsed.batches)) {
      const name = withParallelism(`BenchmarkCore/batch=${r.batch}/bytes=${PAYLOAD_BYTES}`);
      const mbPerSec = (PAYLOAD_BYTES * 1e3) / r.nsPerOp;
      process.stdout.write(
        `${formatGoBenchLine(name, r.proposals, [
          { value: r.nsPerOp, unit: "ns/op" },
          { value: mbPerSec, unit: "MB/s" },
        ])}\n`,
      );
    }
    return 0;
  });
}
