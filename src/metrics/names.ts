// The histograms every rafttoy process may record. A name ends in its unit where the unit is a
// time ("-ns"); the unit of every known name is also listed so a dump can label its columns.

/** Entries handed to one WAL append (one Ready's worth on the leader, one MsgApp's on a follower). */
export const APPEND_BATCH_SIZE = "append-batch-size";
/** Committed entries applied to the engine in one batch. */
export const APPLY_BATCH_SIZE = "apply-batch-size";
/** One turn of the pipeline loop: from taking a Ready to being ready for the next one. */
export const PIPELINE_ITERATION_LATENCY = "pipeline-iteration-latency-ns";
/** One WAL append, from call to durable (or to return, for a WAL that does not sync). */
export const APPEND_LATENCY = "append-latency-ns";
/** Applying one batch of committed entries to the engine. */
export const APPLY_LATENCY = "apply-latency-ns";
/** From `propose()` to the proposal's acknowledgement. */
export const PROPOSAL_LATENCY = "proposal-latency-ns";
/** Raft messages carried by one transport batch. */
export const TRANSPORT_BATCH_MESSAGES = "transport-batch-messages";

export type MetricUnit = "ns" | "entries" | "messages" | "count";

/** The unit of each known histogram, in the order a dump lists them. */
export const KNOWN_HISTOGRAMS: ReadonlyMap<string, MetricUnit> = new Map<string, MetricUnit>([
  [PROPOSAL_LATENCY, "ns"],
  [PIPELINE_ITERATION_LATENCY, "ns"],
  [APPEND_LATENCY, "ns"],
  [APPLY_LATENCY, "ns"],
  [APPEND_BATCH_SIZE, "entries"],
  [APPLY_BATCH_SIZE, "entries"],
  [TRANSPORT_BATCH_MESSAGES, "messages"],
]);

/** A known name's unit; otherwise "ns" for a name ending in "-ns" and "count" for the rest. */
export function unitOf(name: string): MetricUnit {
  return KNOWN_HISTOGRAMS.get(name) ?? (name.endsWith("-ns") ? "ns" : "count");
}
