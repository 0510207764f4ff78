// Result lines in the shape of Go's benchmark output, so existing tools (benchstat and
// friends) can read them:
//
//   BenchmarkCore/batch=1024/bytes=256-2   	  409600	       812 ns/op	   315.27 MB/s
//
// The name carries the degree of parallelism as a "-N" suffix; each metric is a value
// right-aligned in a fixed width followed by its unit, with fewer decimals the larger the
// value.
import { availableParallelism } from "node:os";

export interface BenchMetric {
  value: number;
  unit: string;
}

/** Appends "-N", N being the parallelism available to this process (Go's GOMAXPROCS). */
export function withParallelism(name: string, procs = availableParallelism()): string {
  return `${name}-${procs}`;
}

/** A value with as many decimals as its magnitude deserves, right-aligned. */
export function formatMetricValue(value: number): string {
  const abs = Math.abs(value);
  let decimals: number;
  if (abs === 0 || abs >= 999.95) decimals = 0;
  else if (abs >= 99.995) decimals = 1;
  else if (abs >= 9.9995) decimals = 2;
  else if (abs >= 0.99995) decimals = 3;
  else decimals = 4;
  return value.toFixed(decimals).padStart(10 + decimals);
}

/** One result line: name, iteration count, then each metric as "value unit". */
export function formatGoBenchLine(
  name: string,
  iterations: number,
  metrics: readonly BenchMetric[],
): string {
  if (!Number.isSafeInteger(iterations) || iterations < 0) {
    throw new RangeError(`iterations must be a non-negative integer, got ${iterations}`);
  }
  const parts = [name, String(iterations).padStart(8)];
  for (const m of metrics) parts.push(`${formatMetricValue(m.value)} ${m.unit}`);
  return parts.join("\t");
}
