// What a whole-node simulation run is asked to do and what it reports, the summary line the
// front ends print, and the command line that replays a run.
import type { PipelineTestingBugs } from "../pipeline/pipeline.js";

/** The planted pipeline bugs, as the command lines name them. */
export const PIPELINE_BUG_NAMES = [
  "ackBeforePersist",
  "earlyAckUncommitted",
  "lazySkipsCatchUp",
] as const satisfies readonly (keyof PipelineTestingBugs)[];

export type PipelineBugName = (typeof PIPELINE_BUG_NAMES)[number];

export function isPipelineBugName(s: string): s is PipelineBugName {
  return (PIPELINE_BUG_NAMES as readonly string[]).includes(s);
}

/** The pipelines a planted bug lives in (the others never run its code). */
export function pipelinesWithBug(bug: PipelineBugName, pipelines: readonly string[]): string[] {
  if (bug === "ackBeforePersist") return [...pipelines];
  if (bug === "earlyAckUncommitted") return pipelines.filter((p) => p.includes("early-ack"));
  return pipelines.filter((p) => p.includes("lazy-follower"));
}

export interface PeerSimOptions {
  seed: number;
  /** Voters in the group (fixed membership). */
  nodes: number;
  /** Events to run (timers, deliveries, disk completions, client operations, faults). */
  steps: number;
  pipeline: string;
  bug?: PipelineBugName;
  /** Lines of the run's trace kept for a violation report. */
  traceSize?: number;
  onProgress?: (step: number) => void;
  progressEvery?: number;
}

export interface PeerSimViolation {
  property: string;
  detail: string;
  step: number;
}

export interface PeerSimResult {
  seed: number;
  pipeline: string;
  nodes: number;
  steps: number;
  /** Events of the drain after the steps: no faults, until every node caught up. */
  drainSteps: number;
  /** Virtual time the run covered, ms. */
  virtualMs: number;
  proposed: number;
  acked: number;
  elections: number;
  crashes: number;
  crashesInPersist: number;
  syncFailures: number;
  partitions: number;
  violation?: PeerSimViolation;
  trace: string[];
}

export function peerSummaryLine(r: PeerSimResult): string {
  return (
    `peer-sim: seed=${r.seed} pipeline=${r.pipeline} nodes=${r.nodes} steps=${r.steps} ` +
    `drain=${r.drainSteps} ` +
    `virtual=${(r.virtualMs / 1000).toFixed(1)}s proposed=${r.proposed} acked=${r.acked} ` +
    `elections=${r.elections} crashes=${r.crashes} crashes-in-persist=${r.crashesInPersist} ` +
    `sync-failures=${r.syncFailures} partitions=${r.partitions} ` +
    `violations=${r.violation === undefined ? 0 : 1}`
  );
}

export function peerReproduceCommand(o: PeerSimOptions): string {
  const bug = o.bug === undefined ? "" : ` --pipeline-bug ${o.bug}`;
  return `rafttoy-sim --peer --pipeline ${o.pipeline} --seed ${o.seed} --nodes ${o.nodes} --steps ${o.steps}${bug}`;
}

/** Longest quiet phase at the end of a run, in steps. */
const MAX_QUIET_STEPS = 20_000;

/** The step at which faults stop: the last quarter of the run, at most MAX_QUIET_STEPS. */
export function peerQuietStart(steps: number): number {
  return steps - Math.min(MAX_QUIET_STEPS, Math.floor(steps / 4));
}
