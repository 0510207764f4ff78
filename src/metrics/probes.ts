// Component probes: the few latencies the speed-of-light floor is built from (a durable WAL
// append, an apply, a leader's MsgApp -> MsgAppResp round trip per follower), recorded on
// every run whether or not --metrics is on. One HDR recordValue costs ~40 ns (WebAssembly
// build), a few per proposal batch at most, so they are never switched off: a floor that
// needs a flag to exist would be missing from the runs people actually compare.
import type { Histogram } from "hdr-histogram-js";
import { encodeIntoCompressedBase64 } from "hdr-histogram-js";
import { type DistributionSummary, newHdrHistogram, summarize } from "./histogram.js";

/** One recorded distribution: its percentiles and the histogram itself, mergeable. */
export interface EncodedHistogram extends DistributionSummary {
  /** HDR's own compressed base64 form (decodeFromCompressedBase64 reads it back). */
  hdr: string;
}

/** A histogram's summary and HDR encoding; an empty one encodes too (count 0). */
export function encodeHistogram(h: Histogram): EncodedHistogram {
  return { ...summarize(h), hdr: encodeIntoCompressedBase64(h) };
}

/** Where the probes of one process stand, as sent to the leader and written to JSON. */
export interface ProbeSnapshot {
  /** A durable (synced) append of entries to the WAL, call to resolve. */
  durableAppendNs: EncodedHistogram;
  /** One batch of committed entries applied to the engine. */
  applyNs: EncodedHistogram;
  /** Leader only: MsgApp with entries sent -> its MsgAppResp received, per follower id. */
  replicationRttNs: Record<string, EncodedHistogram>;
}

/** The probes a Peer records into; the same objects for the life of the process. */
export class ComponentProbes {
  readonly durableAppendNs: Histogram = newHdrHistogram();
  readonly applyNs: Histogram = newHdrHistogram();
  private readonly rtt = new Map<number, Histogram>();
  /** Per follower: MsgApps in flight as [last index, send time in ms], oldest first. */
  private readonly inFlight = new Map<number, number[]>();

  /** The leader sent `to` entries up to `lastIndex` at `nowMs`. */
  appendSent(to: number, lastIndex: number, nowMs: number): void {
    let q = this.inFlight.get(to);
    if (q === undefined) {
      q = [];
      this.inFlight.set(to, q);
    }
    // Bounded: a follower that never answers must not grow this without end.
    if (q.length >= 2048) q.splice(0, 2);
    q.push(lastIndex, nowMs);
  }

  /**
   * `from` acknowledged its log up to `index` at `nowMs`: the newest send it covers gives
   * one round trip (that MsgApp's answer), older covered sends are answered too and dropped.
   */
  appendAcked(from: number, index: number, nowMs: number): void {
    const q = this.inFlight.get(from);
    if (q === undefined || q.length === 0 || q[0]! > index) return;
    let k = 0;
    while (k < q.length && q[k]! <= index) k += 2;
    const sentMs = q[k - 1]!;
    q.splice(0, k);
    let h = this.rtt.get(from);
    if (h === undefined) {
      h = newHdrHistogram();
      this.rtt.set(from, h);
    }
    h.recordValue(Math.max(0, Math.round((nowMs - sentMs) * 1e6)));
  }

  /** Starts over (a new benchmark run); sends in flight belong to the old run. */
  reset(): void {
    this.durableAppendNs.reset();
    this.applyNs.reset();
    for (const h of this.rtt.values()) h.reset();
    this.inFlight.clear();
  }

  snapshot(): ProbeSnapshot {
    const replicationRttNs: Record<string, EncodedHistogram> = {};
    for (const [id, h] of [...this.rtt].sort((a, b) => a[0] - b[0])) {
      replicationRttNs[String(id)] = encodeHistogram(h);
    }
    return {
      durableAppendNs: encodeHistogram(this.durableAppendNs),
      applyNs: encodeHistogram(this.applyNs),
      replicationRttNs,
    };
  }
}
