// `parallel-append` (+ `-early-ack`): the leader's MsgApps leave before the local append, so
// followers write in parallel with the leader (Raft thesis §10.2.1). Every other message
// (append responses, votes) waits until the local write is durable. The leader's own log
// counts toward the quorum only after that: the core records its self-append on advance(),
// which comes last, and the peer loop steps no follower response while this Ready is handled.
//
// Committed entries the local log already holds durably (every earlier Ready's append was
// synced before its advance) are applied while this Ready's append syncs, not after it: on
// a leader that is every committed entry of a Ready (its own log counts only once durable),
// so a write is answered one fsync sooner. Committed entries this Ready appends itself (a
// follower's MsgApp can carry entries and a commit index covering them) wait for the sync.
import type { Ready } from "../raft/api.js";
import { type Entry, isEmptySnapshot } from "../raft/types.js";
import { applyInOrder } from "./apply.js";
import { persistReady, splitAppends } from "./persist.js";
import type { Pipeline, PipelineHost } from "./pipeline.js";

/**
 * How many of `rd`'s committed entries (a prefix) are in the local log durably before `rd`
 * is persisted: those below its first new entry. None when it installs a snapshot, which
 * the entries after it must follow.
 */
export function durablyHeldCommitted(rd: Ready): number {
  const committed = rd.committedEntries;
  if (committed.length === 0 || !isEmptySnapshot(rd.snapshot)) return 0;
  if (rd.entries.length === 0) return committed.length;
  const firstNew = rd.entries[0]!.index;
  let n = 0;
  while (n < committed.length && committed[n]!.index < firstNew) n++;
  return n;
}

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
    const held = durablyHeldCommitted(rd);
    const committed = rd.committedEntries;
    const early: readonly Entry[] =
      held === committed.length ? committed : committed.slice(0, held);
    const late: readonly Entry[] = held === 0 ? committed : committed.slice(held);
    const persisted = persistReady(host, rd);
    if (early.length > 0) {
      try {
        // One microtask first: the WAL wakes its I/O thread from a microtask queued by the
        // append above, and the sync should start before the apply takes the thread.
        await undefined;
        await applyInOrder(host, early);
      } catch (err) {
        await persisted.catch(() => {});
        throw err;
      }
      if (!this.earlyAck) host.ack(early);
    }
    await persisted;
    if (this.earlyAck && host.testingBugs?.earlyAckUncommitted === true) host.ack(rd.entries);
    if (others.length > 0) host.send(others);
    await applyInOrder(host, late);
    if (!this.earlyAck) host.ack(late);
    host.node.advance(rd);
  }

  async drain(): Promise<void> {}
}
