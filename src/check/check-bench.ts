// npm run bench:check: how long the linearizability checker takes on a generated
// 100,000-operation history (goal ≤ 30 s). Run it under `flock /tmp/bench.lock`.
import { parseArgs } from "node:util";
import { checkHistory } from "./check.js";
import { generateHistory } from "./generate.js";

const { values } = parseArgs({
  options: {
    operations: { type: "string", default: "100000" },
    clients: { type: "string", default: "10" },
    keys: { type: "string", default: "5" },
    info: { type: "string", default: "0.02" },
    runs: { type: "string", default: "3" },
    seed: { type: "string", default: "1" },
  },
});
const operations = Number(values.operations);
const keys = Number(values.keys);
const runs = Number(values.runs);
const seconds: number[] = [];
for (let run = 0; run < runs; run++) {
  const seed = Number(values.seed) + run;
  const { history } = generateHistory({
    seed,
    operations,
    clients: Number(values.clients),
    registers: Math.max(1, keys - 2),
    counters: 1,
    queues: 1,
    infoRate: Number(values.info),
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
