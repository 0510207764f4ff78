// npm run bench:check: how long the linearizability checker takes on a generated
// 100,000-operation history (goal ≤ 30 s). Run it under `flock /tmp/bench.lock`.
import { type CommandSpec, intFlag, parseOrExit, type Raw, text } from "../command/command.js";
import { UsageError } from "../errors/errors.js";
import { checkHistory } from "./check.js";
import { generateHistory } from "./generate.js";

const WHOLE = Number.MAX_SAFE_INTEGER;

function fraction(raw: Raw, name: string, fallback: number): number {
  const value = text(raw, name);
  const n = value === undefined ? fallback : Number(value);
  if (!(n >= 0 && n <= 1))
    throw new UsageError(`--${name} must be a fraction in 0..1, got "${value}"`);
  return n;
}

const CHECK_BENCH: CommandSpec<{
  operations: number;
  clients: number;
  keys: number;
  info: number;
  runs: number;
  seed: number;
}> = {
  name: "check-bench",
  usage: `$0 [--operations N] [--clients N] [--keys N] [--info F] [--runs N] [--seed N]

How long the linearizability checker takes on generated histories, one line per run and the median (goal ≤ 30 s).`,
  flags: (y) =>
    y
      .option("operations", { type: "string", describe: "operations per history (default 100000)" })
      .option("clients", { type: "string", describe: "concurrent clients (default 10)" })
      .option("keys", {
        type: "string",
        describe: "keys, at least 3: registers, a counter, a queue (default 5)",
      })
      .option("info", {
        type: "string",
        describe: "fraction of indeterminate results (default 0.02)",
      })
      .option("runs", {
        type: "string",
        describe: "histories, seeds seed..seed+runs-1 (default 3)",
      })
      .option("seed", { type: "string", describe: "the first seed (default 1)" }),
  read: (raw) => ({
    operations: intFlag(raw, "operations", 1, WHOLE, 100_000),
    clients: intFlag(raw, "clients", 1, WHOLE, 10),
    keys: intFlag(raw, "keys", 1, WHOLE, 5),
    info: fraction(raw, "info", 0.02),
    runs: intFlag(raw, "runs", 1, WHOLE, 3),
    seed: intFlag(raw, "seed", 0, WHOLE, 1),
  }),
};

const values = parseOrExit(CHECK_BENCH, process.argv.slice(2));
const operations = values.operations;
const keys = values.keys;
const runs = values.runs;
const seconds: number[] = [];
for (let run = 0; run < runs; run++) {
  const seed = values.seed + run;
  const { history } = generateHistory({
    seed,
    operations,
    clients: values.clients,
    registers: Math.max(1, keys - 2),
    counters: 1,
    queues: 1,
    infoRate: values.info,
    failRate: 0.02,
    pushLengths: false,
  });
  const started = performance.now();
  const result = checkHistory(history);
  const elapsed = (performance.now() - started) / 1000;
  seconds.push(elapsed);
  const steps = result.keys.reduce((sum, k) => sum + k.steps, 0);
  console.log(
    `seed ${seed}: ${history.length} operations, ${result.keys.length} keys, ${steps} configurations: ${result.linearizable ? "linearizable" : "NOT linearizable"} in ${elapsed.toFixed(2)} s`,
  );
  if (!result.linearizable) process.exitCode = 1;
}
seconds.sort((a, b) => a - b);
console.log(
  `median ${(seconds[Math.floor(seconds.length / 2)] as number).toFixed(2)} s over ${runs} runs (goal ≤ 30 s)`,
);
