export { installExitDump } from "./exit-dump.js";
export { formatMetrics, formatNanos } from "./format.js";
export {
  type DistributionSummary,
  type HistogramBackend,
  histogramBackend,
  newHdrHistogram,
  summarize,
} from "./histogram.js";
export {
  createMetrics,
  type HistogramSnapshot,
  type Metrics,
  type MetricsJson,
  type Recorder,
} from "./metrics.js";
export * from "./names.js";
