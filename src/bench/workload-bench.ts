// What the benchmark harness itself costs per proposal: the runner and closed-loop workload
// driving a proposer that acknowledges at once (a resolved promise), with payload creation and
// latency recording included. Whatever a real cluster measures, this much of the leader's
// time per proposal is the harness. Run with `node dist/src/bench/workload-bench.js [--bench
// REGEX] [--benchtime 1s] [--count 3]`.
import { parseArgs } from "node:util";
import { parseBenchtime } from "./benchtime.js";
import { runBenchmarks } from "./runner.js";
import type { Proposer } from "./workload.js";

const { values } = parseArgs({
  options: {
    bench: { type: "string", default: "conc=(1|64|1024)/" },
    benchtime: { type: "string", default: "1s" },
    count: { type: "string", default: "3" },
  },
});

const instant: Proposer = { propose: () => Promise.resolve() };

await runBenchmarks({
  pattern: new RegExp(values.bench),
  benchtime: parseBenchtime(values.benchtime),
  count: Number(values.count),
  maxrate: 0,
  proposer: instant,
  config: { proposer: "instant" },
  walSyncMode: "none",
  out: (line) => process.stdout.write(`${line}\n`),
  log: (line) => process.stderr.write(`${line}\n`),
});
