// `basic`: persist, send, apply, acknowledge, advance — one step after the other.
import type { Ready } from "../raft/api.js";
import { applyInOrder } from "./apply.js";
import { persistReady } from "./persist.js";
import type { Pipeline, PipelineHost } from "./pipeline.js";

export class BasicPipeline implements Pipeline {
  readonly name = "basic";

  constructor(private readonly host: PipelineHost) {}

  async handleReady(rd: Ready): Promise<void> {
    const host = this.host;
    await persistReady(host, rd);
    host.send(rd.messages);
    await applyInOrder(host, rd.committedEntries);
    host.ack(rd.committedEntries);
    host.node.advance(rd);
  }

  async drain(): Promise<void> {}
}
