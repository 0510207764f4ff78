// A process for the exit-dump tests: records a few values, installs the dump, says "ready" and
// waits to be signalled. With "graceful" it also has its own SIGTERM handler that finishes some
// asynchronous work before exiting with 0, as a binary that drains on stop would.
import { installExitDump } from "../metrics/exit-dump.js";
import { createMetrics } from "../metrics/metrics.js";
import { APPEND_LATENCY } from "../metrics/names.js";

const metrics = createMetrics(true);
const latency = metrics.histogram(APPEND_LATENCY);
for (let v = 1_000; v <= 100_000; v += 1_000) latency.record(v);
installExitDump(metrics, (text) => process.stderr.write(text));

if (process.argv[2] === "graceful") {
  process.on("SIGTERM", () => {
    setTimeout(() => {
      process.stdout.write("drained\n");
      process.exit(0);
    }, 50);
  });
}

setInterval(() => {}, 1_000);
process.stdout.write("ready\n");
