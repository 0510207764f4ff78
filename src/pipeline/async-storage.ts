// `async-storage`: built on the core's asyncStorageWrites. The loop hands MsgStorageAppend
// messages to an append worker and MsgStorageApply messages to an apply worker and goes on
// at once; it never waits on a sync. Each worker takes every message queued so far, in
// order, does the work once for all of them (one durable write for several appends: a group
// commit), then delivers the messages' `responses`: those to this node are stepped back in,
// the rest (append responses, votes) leave only now that the state they vote for is durable.
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD, type Ready } from "../raft/api.js";
import type { Entry, HardState, Message } from "../raft/types.js";
import { applyInOrder } from "./apply.js";
import { invariant } from "./errors.js";
import type { Pipeline, PipelineHost } from "./pipeline.js";

/** Appends `next` to `into`, replacing any suffix of `into` that `next` overwrites. */
export function mergeEntries(into: Entry[], next: readonly Entry[]): void {
  if (next.length === 0) return;
  if (into.length > 0) {
    const first = next[0]!.index;
    const base = into[0]!.index;
    const last = into[into.length - 1]!.index;
    // The core appends in log order: a later append may overwrite a suffix, never skip.
    invariant(first <= last + 1, "appends-contiguous", () => `append at ${first} after ${last}`);
    if (first <= last) into.length = Math.max(0, first - base);
  }
  for (let i = 0; i < next.length; i++) into.push(next[i]!);
}

/** A queue drained by one worker at a time; `run` handles everything queued so far. */
class Worker {
  private queue: Message[] = [];
  private running: Promise<void> | undefined;

  constructor(
    private readonly run: (batch: Message[]) => Promise<void>,
    private readonly fail: (err: unknown) => void,
  ) {}

  push(m: Message): void {
    this.queue.push(m);
    if (this.running === undefined) this.running = this.work();
  }

  async drain(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  private async work(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue;
        this.queue = [];
        await this.run(batch);
      }
    } catch (err) {
      this.queue = [];
      this.fail(err);
    } finally {
      this.running = undefined;
    }
  }
}

export class AsyncStoragePipeline implements Pipeline {
  readonly name = "async-storage";
  private readonly appender: Worker;
  private readonly applier: Worker;
  /** The last hard state written, to tell a commit-only change (no sync needed) apart. */
  private lastHardState: HardState = { term: 0, vote: 0, commit: 0 };

  constructor(private readonly host: PipelineHost) {
    const fail = (err: unknown) => host.fail(err);
    this.appender = new Worker((batch) => this.append(batch), fail);
    this.applier = new Worker((batch) => this.apply(batch), fail);
  }

  async handleReady(rd: Ready): Promise<void> {
    const msgs = rd.messages;
    // A fresh array: the transport may keep it (in-process delivery hands objects over).
    const remote: Message[] = [];
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      if (m.to === LOCAL_APPEND_THREAD) this.appender.push(m);
      else if (m.to === LOCAL_APPLY_THREAD) this.applier.push(m);
      else remote.push(m);
    }
    if (remote.length > 0) this.host.send(remote);
  }

  async drain(): Promise<void> {
    await this.appender.drain();
    await this.applier.drain();
  }

  private async append(batch: Message[]): Promise<void> {
    let i = 0;
    while (i < batch.length) {
      // A snapshot is written on its own; plain appends are merged into one write.
      if (batch[i]!.snapshot !== undefined) {
        await this.write([batch[i]!]);
        i++;
        continue;
      }
      let j = i;
      while (j < batch.length && batch[j]!.snapshot === undefined) j++;
      await this.write(batch.slice(i, j));
      i = j;
    }
  }

  private async write(msgs: Message[]): Promise<void> {
    const host = this.host;
    let entries: Entry[];
    if (msgs.length === 1) entries = msgs[0]!.entries;
    else {
      entries = [];
      for (const m of msgs) mergeEntries(entries, m.entries);
    }
    let hardState: HardState | undefined;
    for (const m of msgs) {
      // The core fills term/vote/commit only when the hard state changed; term is never 0 then.
      if (m.term !== 0) hardState = { term: m.term, vote: m.vote, commit: m.commit };
    }
    const snapshot = msgs[0]!.snapshot;
    const last = this.lastHardState;
    const sync =
      entries.length > 0 ||
      snapshot !== undefined ||
      (hardState !== undefined && (hardState.term !== last.term || hardState.vote !== last.vote));
    if (entries.length > 0 || hardState !== undefined || snapshot !== undefined) {
      if (host.testingBugs?.ackBeforePersist === true) host.ack(entries);
      const start = host.clock.now();
      await host.storage.persist({ hardState, entries, snapshot }, sync);
      if (hardState !== undefined) this.lastHardState = hardState;
      if (entries.length > 0) {
        host.metrics.appendBatchSize.record(entries.length);
        host.metrics.appendLatencyNs.record(Math.round((host.clock.now() - start) * 1e6));
      }
    }
    this.deliver(msgs);
  }

  private async apply(batch: Message[]): Promise<void> {
    const host = this.host;
    let entries: Entry[];
    if (batch.length === 1) entries = batch[0]!.entries;
    else {
      entries = [];
      for (const m of batch) for (const e of m.entries) entries.push(e);
    }
    await applyInOrder(host, entries);
    host.ack(entries);
    this.deliver(batch);
  }

  /** Delivers the responses of `msgs`, in order: to this node, or over the network. */
  private deliver(msgs: readonly Message[]): void {
    const host = this.host;
    const local: Message[] = [];
    const remote: Message[] = [];
    for (const m of msgs) {
      const responses = m.responses;
      if (responses === undefined) continue;
      for (const r of responses) {
        if (r.to === host.id) local.push(r);
        else remote.push(r);
      }
    }
    if (remote.length > 0) host.send(remote);
    if (local.length > 0) host.stepLocal(local);
  }
}
