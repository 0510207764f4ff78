// `parallel-append` (+ `-early-ack`): the leader's MsgApps leave before the local append, so
// followers write in parallel with the leader (Raft thesis §10.2.1). Every other message
// (append responses, votes) waits until the local write is durable. The leader's own log
// counts toward the quorum only after that: the core records its self-append on advance(),
// which comes last, and the peer loop steps no follower response while this Ready is handled.
import type { Ready } from "../raft/api.js";
import { applyInOrder } from "./apply.js";
import { persistReady, splitAppends } from "./persist.js";
import type { Pipeline, PipelineHost } from "./pipeline.js";

export class ParallelAppendPipeline implements Pipeline {
  readonly name: string;

  constructor(
    private readonly host: PipelineHost,
    private readonly earlyAck: boolean,
  ) {
    this.name = earlyAck ? "parallel-append-early-ack" : "parallel-append";
  }

  async handleReady(rd: Ready): Promise<void> {
    const host = this.host;
    const { appends, others } = splitAppends(rd.messages);
    if (appends.length > 0) host.send(appends);
    // Committed entries are on a durable quorum already: early-ack may answer now.
    if (this.earlyAck) host.ack(rd.committedEntries);
    await persistReady(host, rd);
    if (this.earlyAck && host.testingBugs?.earlyAckUncommitted === true) host.ack(rd.entries);
    if (others.length > 0) host.send(others);
    await applyInOrder(host, rd.committedEntries);
    if (!this.earlyAck) host.ack(rd.committedEntries);
    host.node.advance(rd);
  }

  async drain(): Promise<void> {}
}
