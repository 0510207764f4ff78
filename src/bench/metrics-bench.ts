// Cost of recording one value: the shared no-op recorder (metrics off), a metrics recorder on
// the WebAssembly build, and a raw hdr-histogram-js JavaScript histogram for comparison.
// Prints Go-style lines; run with `node dist/src/bench/metrics-bench.js`.
import os from "node:os";
import { build } from "hdr-histogram-js";
import { type CommandSpec, parseOrExit } from "../command/command.js";
import { UsageError } from "../errors/errors.js";
import { histogramBackend } from "../metrics/histogram.js";
import { createMetrics, type Recorder } from "../metrics/metrics.js";
import { APPEND_LATENCY } from "../metrics/names.js";
import { formatGoBenchLine } from "./go-format.js";
import { median } from "./results.js";

const RECORDS = 5_000_000;
const ROUNDS = 7;

// Latency-like values, log-uniform over 20 µs .. 3 ms, drawn once so the loop only records.
const values = new Float64Array(4096);
for (let i = 0; i < values.length; i++)
  values[i] = Math.floor(20_000 * Math.exp(Math.random() * 5));

function nsPerRecord(recorder: Recorder): number {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    for (let i = 0; i < RECORDS; i++) recorder.record(values[i & 4095]!);
    rounds.push(((performance.now() - start) * 1e6) / RECORDS);
  }
  return median(rounds.slice(1)); // the first round includes warm-up and JIT
}

const suffix = `-${os.availableParallelism()}`;
const cases: Array<[string, () => Recorder]> = [
  ["disabled", () => createMetrics(false).histogram(APPEND_LATENCY)],
  [histogramBackend(), () => createMetrics(true).histogram(APPEND_LATENCY)],
  [
    "js-raw",
    () => {
      const h = build({ useWebAssembly: false });
      return { record: (v: number) => h.recordValue(v) };
    },
  ],
];
const caseNames = cases.map(([name]) => name);
const METRICS_BENCH: CommandSpec<{ only: string | undefined }> = {
  name: "metrics-bench",
  usage: `$0 [CASE]

The cost of recording one value, per recorder (CASE: ${caseNames.join(", ")}; default all); Go-style lines.`,
  flags: (y) => y,
  words: { min: 0, max: 1, what: "case name" },
  read: (_raw, words) => {
    const only = words[0];
    if (only !== undefined && !caseNames.includes(only)) {
      throw new UsageError(
        `unknown case ${JSON.stringify(only)}: choose from ${caseNames.join(", ")}`,
      );
    }
    return { only };
  },
};
const { only } = parseOrExit(METRICS_BENCH, process.argv.slice(2));
for (const [name, make] of cases) {
  if (only !== undefined && only !== name) continue;
  const ns = nsPerRecord(make());
  process.stdout.write(
    `${formatGoBenchLine(`BenchmarkRecord/${name}${suffix}`, RECORDS, [{ value: ns, unit: "ns/op" }])}\n`,
  );
}
