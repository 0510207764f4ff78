// The leader's view of one follower: how much of the log it holds (match), what to send it
// next (next), and how to send it: probing one message at a time, replicating optimistically
// within an inflight window, or waiting for a snapshot to land.
import type { ProgressState, ProgressStatus } from "./api.js";
import { Inflights } from "./inflights.js";

export class Progress {
  match = 0;
  next: number;
  /** Highest commit index sent to this follower; lets the leader skip redundant MsgApps. */
  sentCommit = 0;
  state: ProgressState = "probe";
  /** Index of the snapshot in flight while in snapshot state. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In probe state: a MsgApp is out; in replicate state: the window is full. */
  msgAppFlowPaused = false;
  /**
   * In probe state: a MsgApp with entries went out since the leader's last periodic
   * heartbeat. Until the next one, heartbeat answers do not resend it: a probe is retried
   * at most once per heartbeat interval, however many ReadIndex heartbeats are answered.
   */
  probeSentThisBeat = false;
  isLearner: boolean;
  readonly inflights: Inflights;

  constructor(next: number, isLearner: boolean, maxInflightMsgs: number, maxInflightBytes: number) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflightMsgs, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.probeSentThisBeat = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    if (this.state === "snapshot") {
      const pending = this.pendingSnapshot;
      this.resetState("probe");
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState("probe");
      this.next = this.match + 1;
    }
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
  }

  becomeReplicate(): void {
    this.resetState("replicate");
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
    this.sentCommit = snapshotIndex;
  }

  /** Records a MsgApp carrying `entries` entries of `bytes` payload. */
  sentEntries(entries: number, bytes: number): void {
    if (this.state === "replicate") {
      if (entries > 0) {
        this.next += entries;
        this.inflights.add(this.next - 1, bytes);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === "probe" && entries > 0) {
      this.msgAppFlowPaused = true;
      this.probeSentThisBeat = true;
    }
  }

  /** Whether sending `commit` would tell this follower something new it can use. */
  canBumpCommit(commit: number): boolean {
    return commit > this.sentCommit && this.sentCommit < this.next - 1;
  }

  /** The follower acknowledged entries up to n; returns false if that is old news. */
  maybeUpdate(n: number): boolean {
    if (n <= this.match) return false;
    this.match = n;
    if (this.next < n + 1) this.next = n + 1;
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * The follower rejected a MsgApp whose previous index was `rejected`, hinting that its log
   * may match up to `matchHint`. Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      this.sentCommit = Math.min(this.sentCommit, this.next - 1);
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.sentCommit = Math.min(this.sentCommit, this.next - 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /** A heartbeat was answered: the flow may resume, unless a probe already went out this beat. */
  heartbeatAnswered(): void {
    this.recentActive = true;
    if (!this.probeSentThisBeat) this.msgAppFlowPaused = false;
  }

  isPaused(): boolean {
    return this.state === "snapshot" || this.msgAppFlowPaused;
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
      pendingSnapshot: this.pendingSnapshot,
      inflight: this.inflights.length,
    };
  }
}
