// What the Peer records about its own work: the pipeline's histograms, the loop's
// iteration latency, proposal latency, messages per outgoing batch, and the always-on
// component probes (replication round trips) behind the benchmark's speed-of-light floor.
// Each costs nothing when its metrics or probes are off.
import {
  APPEND_BATCH_SIZE,
  APPEND_LATENCY,
  APPLY_BATCH_SIZE,
  APPLY_LATENCY,
  type Metrics,
  PIPELINE_ITERATION_LATENCY,
  PROPOSAL_LATENCY,
  TRANSPORT_BATCH_MESSAGES,
} from "../metrics/index.js";
import type { ComponentProbes } from "../metrics/probes.js";
import type { PipelineMetrics, Recorder } from "../pipeline/pipeline.js";
import { type Message, MessageType } from "../raft/types.js";
import type { Clock } from "./clock.js";

export class PeerInstruments {
  readonly pipeline: PipelineMetrics;
  private readonly iterationLatency: Recorder;
  private readonly proposalLatency: Recorder;
  private readonly batchMessages: Recorder;
  private readonly countPerDest = new Map<number, number>();

  constructor(
    private readonly metrics: Metrics,
    private readonly probes: ComponentProbes | undefined,
    private readonly clock: Clock,
  ) {
    const m = metrics;
    // Every pipeline records an append's latency only for appends with entries, and those
    // are always synced (Ready.mustSync), so the append recorder is the durable-append probe.
    this.pipeline = {
      appendBatchSize: m.histogram(APPEND_BATCH_SIZE),
      appendLatencyNs: tee(m.histogram(APPEND_LATENCY), probes?.durableAppendNs),
      applyBatchSize: m.histogram(APPLY_BATCH_SIZE),
      applyLatencyNs: tee(m.histogram(APPLY_LATENCY), probes?.applyNs),
    };
    this.iterationLatency = m.histogram(PIPELINE_ITERATION_LATENCY);
    this.proposalLatency = m.histogram(PROPOSAL_LATENCY);
    this.batchMessages = m.histogram(TRANSPORT_BATCH_MESSAGES);
  }

  /** One loop iteration that began at `startMs` (clock time) has ended. */
  iterationDone(startMs: number): void {
    this.iterationLatency.record(Math.round((this.clock.now() - startMs) * 1e6));
  }

  /** A proposal made at `startMs` (clock time) was acknowledged. */
  proposalAcked(startMs: number): void {
    this.proposalLatency.record(Math.round((this.clock.now() - startMs) * 1e6));
  }

  /** `messages` leave in one transport send. */
  sending(isLeader: boolean, messages: readonly Message[]): void {
    if (this.metrics.enabled) this.recordBatchSizes(messages);
    if (this.probes !== undefined && isLeader) this.probeSends(this.probes, messages);
  }

  /** `messages` arrived in one batch of the current epoch. */
  received(isLeader: boolean, messages: readonly Message[]): void {
    if (this.probes !== undefined && isLeader) this.probeAcks(this.probes, messages);
  }

  /** Replication round trips start when a MsgApp with entries leaves... */
  private probeSends(probes: ComponentProbes, messages: readonly Message[]): void {
    const now = this.clock.now();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      const n = m.entries.length;
      if (m.type === MessageType.MsgApp && n > 0)
        probes.appendSent(m.to, m.entries[n - 1]!.index, now);
    }
  }

  /** ... and end when its MsgAppResp arrives, timed on arrival rather than when stepped. */
  private probeAcks(probes: ComponentProbes, messages: readonly Message[]): void {
    const now = this.clock.now();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.type === MessageType.MsgAppResp && !m.reject) probes.appendAcked(m.from, m.index, now);
    }
  }

  private recordBatchSizes(messages: readonly Message[]): void {
    const counts = this.countPerDest;
    for (let i = 0; i < messages.length; i++) {
      const to = messages[i]!.to;
      counts.set(to, (counts.get(to) ?? 0) + 1);
    }
    for (const n of counts.values()) this.batchMessages.record(n);
    counts.clear();
  }
}

/** A recorder that records into `also` too, when there is one. */
function tee(first: Recorder, also: { recordValue(v: number): void } | undefined): Recorder {
  if (also === undefined) return first;
  return {
    record(value: number): void {
      first.record(value);
      // biome-ignore lint/complexity/useMathMinMax: Math.max(NaN, 0) is NaN; this maps NaN to 0 too.
      also.recordValue(value >= 0 ? value : 0);
    },
  };
}
