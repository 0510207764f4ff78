// `async-apply` (+ `-early-ack`, + `-early-ack-lazy-follower`): after the durable append and
// the sends, committed entries go to a background applier and the loop moves on to the next
// Ready. A Ready that commits a conf change waits for the applier to finish and applies it
// in line, so membership changes stay in order and synchronous. A lazy follower skips
// normal entries; once it leads (or a conf change comes) it first applies what it skipped,
// read back from its log.
import type { Ready } from "../raft/api.js";
import type { Entry } from "../raft/types.js";
import { AsyncApplier, applyInOrder, hasConfChange } from "./apply.js";
import { invariant } from "./errors.js";
import { persistReady, splitAppends } from "./persist.js";
import type { Pipeline, PipelineHost } from "./pipeline.js";

export interface AsyncApplyOptions {
  earlyAck: boolean;
  /** Followers skip applying normal entries; only the leader's engine holds the data. */
  lazyFollower: boolean;
}

export class AsyncApplyPipeline implements Pipeline {
  readonly name: string;
  private readonly applier: AsyncApplier;
  /** A lazy follower left committed entries unapplied. */
  private skipped = false;

  constructor(
    private readonly host: PipelineHost,
    private readonly opts: AsyncApplyOptions,
  ) {
    this.name = opts.lazyFollower
      ? "async-apply-early-ack-lazy-follower"
      : opts.earlyAck
        ? "async-apply-early-ack"
        : "async-apply";
    const afterApply = opts.earlyAck ? () => {} : (entries: readonly Entry[]) => host.ack(entries);
    this.applier = new AsyncApplier(host, afterApply);
  }

  async handleReady(rd: Ready): Promise<void> {
    const host = this.host;
    const committed = rd.committedEntries;
    // Like parallel-append, MsgApps leave before the local append.
    const { appends, others } = splitAppends(rd.messages);
    if (appends.length > 0) host.send(appends);
    if (this.opts.earlyAck) host.ack(committed);
    await persistReady(host, rd);
    if (this.opts.earlyAck && host.testingBugs?.earlyAckUncommitted === true) host.ack(rd.entries);
    if (others.length > 0) host.send(others);
    if (committed.length > 0) {
      const mustApply = !this.opts.lazyFollower || host.isLeader();
      // A lazy follower applies what it skipped before it applies anything again (it leads
      // now, or a conf change came): the engine takes entries only in order, without gaps.
      if (this.skipped && (mustApply || hasConfChange(committed))) {
        if (host.testingBugs?.lazySkipsCatchUp !== true) await this.catchUp(committed[0]!.index);
        this.skipped = false;
      }
      if (hasConfChange(committed)) {
        await this.applier.drain();
        // Every node applies a batch holding a conf change, lazy followers included: the
        // batches that carry membership (bootstrap) are rare and must leave no gap.
        await applyInOrder(host, committed);
        if (!this.opts.earlyAck) host.ack(committed);
      } else if (mustApply) {
        this.applier.push(committed as Entry[]);
        const full = this.applier.waitForRoom();
        if (full !== undefined) await full;
      } else {
        this.skipped = true;
      }
    }
    host.node.advance(rd);
  }

  drain(): Promise<void> {
    return this.applier.drain();
  }

  /** Applies the committed entries this node skipped as a lazy follower, up to `before`. */
  private async catchUp(before: number): Promise<void> {
    const host = this.host;
    await this.applier.drain();
    const from = host.appliedIndex() + 1;
    if (from >= before) return;
    const skipped = host.readLog(from, before);
    invariant(
      skipped.length === before - from && skipped[0]?.index === from,
      "catch-up-complete",
      () => `read ${skipped.length} entries from ${skipped[0]?.index} for [${from}, ${before})`,
    );
    await applyInOrder(host, skipped);
  }
}
