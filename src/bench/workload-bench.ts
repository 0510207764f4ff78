// What the benchmark harness itself costs per proposal: the runner and closed-loop workload
// driving a proposer that acknowledges at once (a resolved promise), with payload creation and
// latency recording included. Whatever a real cluster measures, this much of the leader's
// time per proposal is the harness. Run with `node dist/src/bench/workload-bench.js [--bench
// REGEX] [--benchtime 1s] [--count 3]`.
import { type CommandSpec, intFlag, parseOrExit, text } from "../command/command.js";
import { UsageError } from "../errors/errors.js";
import { type Benchtime, parseBenchtime } from "./benchtime.js";
import { runBenchmarks } from "./runner.js";
import type { Proposer } from "./workload.js";

const WORKLOAD_BENCH: CommandSpec<{ pattern: RegExp; benchtime: Benchtime; count: number }> = {
  name: "workload-bench",
  usage: `$0 [--bench REGEX] [--benchtime D] [--count N]

What the benchmark harness costs per proposal: the runner and closed-loop workload against a proposer that acknowledges at once.`,
  flags: (y) =>
    y
      .option("bench", { type: "string", describe: "cases to run (default conc=(1|64|1024)/)" })
      .option("benchtime", {
        type: "string",
        describe: "time (1s) or proposals (1000x) per run (default 1s)",
      })
      .option("count", { type: "string", describe: "runs per case (default 3)" }),
  read: (raw) => {
    const bench = text(raw, "bench") ?? "conc=(1|64|1024)/";
    let pattern: RegExp;
    try {
      pattern = new RegExp(bench);
    } catch (error) {
      throw new UsageError(`--bench ${JSON.stringify(bench)}: ${(error as Error).message}`);
    }
    return {
      pattern,
      benchtime: parseBenchtime(text(raw, "benchtime") ?? "1s"),
      count: intFlag(raw, "count", 1, Number.MAX_SAFE_INTEGER, 3),
    };
  },
};

const values = parseOrExit(WORKLOAD_BENCH, process.argv.slice(2));
const instant: Proposer = { propose: () => Promise.resolve() };

await runBenchmarks({
  pattern: values.pattern,
  benchtime: values.benchtime,
  count: values.count,
  maxrate: 0,
  proposer: instant,
  config: { proposer: "instant" },
  walSyncMode: "none",
  out: (line) => process.stdout.write(`${line}\n`),
  log: (line) => process.stderr.write(`${line}\n`),
});
