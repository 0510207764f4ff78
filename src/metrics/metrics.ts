import type { Histogram } from "hdr-histogram-js";
import { encodeIntoCompressedBase64 } from "hdr-histogram-js";
import {
  type DistributionSummary,
  type HistogramBackend,
  histogramBackend,
  newHdrHistogram,
  summarize,
} from "./histogram.js";
import { type MetricUnit, unitOf } from "./names.js";

/** What the hot path holds: one call per observation. */
export interface Recorder {
  record(value: number): void;
}

export interface HistogramSnapshot extends DistributionSummary {
  name: string;
  unit: MetricUnit;
}

export interface MetricsJson {
  enabled: boolean;
  backend: HistogramBackend | "none";
  /** Each histogram's summary and `hdr`, HDR's compressed base64 encoding (mergeable). */
  histograms: Record<string, Omit<HistogramSnapshot, "name"> & { hdr?: string }>;
}

export interface Metrics {
  readonly enabled: boolean;
  /**
   * The recorder for `name`, created on first use; the same object on every later call, so
   * callers look it up once and keep it. Disabled metrics hand out one shared no-op recorder.
   */
  histogram(name: string): Recorder;
  /** Every histogram asked for so far, in the order first asked for. */
  snapshot(): HistogramSnapshot[];
  /** Empties every histogram (between benchmark runs, say); names stay registered. */
  reset(): void;
  toJSON(): MetricsJson;
}

// One shared instance so that, with metrics off, every call site sees the same hidden class
// and the call inlines to nothing.
const NO_OP_RECORDER: Recorder = Object.freeze({
  record(_value: number): void {},
});

class HdrRecorder implements Recorder {
  constructor(readonly hdr: Histogram) {}

  record(value: number): void {
    // The WebAssembly build traps on negative or NaN input; a metric must never crash a run.
    // biome-ignore lint/complexity/useMathMinMax: Math.max(NaN, 0) is NaN; this maps NaN to 0 too.
    this.hdr.recordValue(value >= 0 ? value : 0);
  }
}

class DisabledMetrics implements Metrics {
  readonly enabled = false;
  histogram(_name: string): Recorder {
    return NO_OP_RECORDER;
  }
  snapshot(): HistogramSnapshot[] {
    return [];
  }
  reset(): void {}
  toJSON(): MetricsJson {
    return { enabled: false, backend: "none", histograms: {} };
  }
}

class EnabledMetrics implements Metrics {
  readonly enabled = true;
  private readonly byName = new Map<string, HdrRecorder>();

  histogram(name: string): Recorder {
    let recorder = this.byName.get(name);
    if (recorder === undefined) {
      recorder = new HdrRecorder(newHdrHistogram());
      this.byName.set(name, recorder);
    }
    return recorder;
  }

  snapshot(): HistogramSnapshot[] {
    return [...this.byName].map(([name, r]) => ({ name, unit: unitOf(name), ...summarize(r.hdr) }));
  }

  reset(): void {
    for (const r of this.byName.values()) r.hdr.reset();
  }

  toJSON(): MetricsJson {
    const histograms: MetricsJson["histograms"] = {};
    for (const { name, ...rest } of this.snapshot()) {
      const hdr = this.byName.get(name)!.hdr;
      histograms[name] = { ...rest, hdr: encodeIntoCompressedBase64(hdr) };
    }
    return { enabled: true, backend: histogramBackend(), histograms };
  }
}

/** Named histograms; with `enabled` false every recorder is a shared no-op. */
export function createMetrics(enabled: boolean): Metrics {
  return enabled ? new EnabledMetrics() : new DisabledMetrics();
}
