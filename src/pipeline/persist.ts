// Writing one Ready's state (hard state, entries, snapshot) to stable storage, with the
// append metrics recorded around it.
import type { Ready } from "../raft/api.js";
import { type Message, MessageType } from "../raft/types.js";
import type { PipelineHost } from "./pipeline.js";

/** Persists what `rd` asks for; resolves once it is durable when `rd.mustSync` says so. */
export async function persistReady(host: PipelineHost, rd: Ready): Promise<void> {
  if (rd.hardState === undefined && rd.entries.length === 0 && rd.snapshot === undefined) return;
  if (host.testingBugs?.ackBeforePersist === true) host.ack(rd.entries);
  const start = host.clock.now();
  await host.storage.persist(
    { hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot },
    rd.mustSync,
  );
  if (rd.entries.length > 0) {
    host.metrics.appendBatchSize.record(rd.entries.length);
    host.metrics.appendLatencyNs.record(Math.round((host.clock.now() - start) * 1e6));
  }
}

/** Splits messages into MsgApps (safe to send before the local append) and the rest. */
export function splitAppends(messages: readonly Message[]): {
  appends: Message[];
  others: Message[];
} {
  const appends: Message[] = [];
  const others: Message[] = [];
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.type === MessageType.MsgApp) appends.push(m);
    else others.push(m);
  }
  return { appends, others };
}
