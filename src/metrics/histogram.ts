import type { Histogram } from "hdr-histogram-js";
import { build, initWebAssemblySync } from "hdr-histogram-js";

// hdr-histogram-js ships a WebAssembly build and a plain JavaScript one. On Node 20 on the
// 2-core benchmark machine, recording a latency-like value costs ~40-47 ns through a WebAssembly
// recorder and ~160-250 ns in the JavaScript build (src/bench/metrics-bench.ts), so the
// WebAssembly build is used whenever it initialises (it does, synchronously, in ~35 ms); the
// JavaScript build is the fallback.

export type HistogramBackend = "wasm" | "js";

let backend: HistogramBackend | undefined;

/** Which hdr-histogram-js build new histograms use (initialising it on first call). */
export function histogramBackend(): HistogramBackend {
  if (backend === undefined) {
    try {
      initWebAssemblySync();
      backend = "wasm";
    } catch {
      backend = "js";
    }
  }
  return backend;
}

/**
 * A new HDR histogram: values from 1 upwards, 3 significant digits (0.1 % relative error),
 * growing as larger values arrive so no value is ever out of range.
 */
export function newHdrHistogram(): Histogram {
  return build({
    useWebAssembly: histogramBackend() === "wasm",
    numberOfSignificantValueDigits: 3,
    autoResize: true,
  });
}

/** The figures every dump and result shows for one distribution. */
export interface DistributionSummary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export function summarize(h: Histogram): DistributionSummary {
  const count = h.totalCount;
  if (count === 0) return { count, mean: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0 };
  return {
    count,
    mean: h.mean,
    min: h.getValueAtPercentile(0),
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    p999: h.getValueAtPercentile(99.9),
    max: h.maxValue,
  };
}
