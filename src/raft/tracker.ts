// Membership and per-member progress: who votes, who learns, the quorum commit index and
// the tally of an election. Single-server changes only, so one majority config at a time.

import { Progress } from "./progress.js";
import type { ConfState } from "./types.js";

export type VoteResult = "pending" | "won" | "lost";

export class ProgressTracker {
  /** Sorted ascending. */
  voters: number[] = [];
  /** Sorted ascending. */
  learners: number[] = [];
  readonly progress = new Map<number, Progress>();
  readonly votes = new Map<number, boolean>();
  /** Scratch space for the commit computation, reused to avoid allocation per response. */
  private matchScratch: number[] = [];

  constructor(
    readonly maxInflightMsgs: number,
    readonly maxInflightBytes: number,
  ) {}

  confState(): ConfState {
    return { voters: this.voters.slice(), learners: this.learners.slice() };
  }

  isVoter(id: number): boolean {
    return this.voters.includes(id);
  }

  isSingleton(): boolean {
    return this.voters.length === 1;
  }

  newProgress(next: number, isLearner: boolean): Progress {
    return new Progress(next, isLearner, this.maxInflightMsgs, this.maxInflightBytes);
  }

  /**
   * The largest index replicated on a majority of voters. With no voters the answer is
   * "everything" so that an empty config never holds back commit. `acksShort` > 0 is the
   * self-test's planted bug (TestingBugs.commitWithoutMajority): that many acks fewer.
   */
  committed(acksShort = 0): number {
    const n = this.voters.length;
    if (n === 0) return Number.MAX_SAFE_INTEGER;
    const m = this.matchScratch;
    m.length = n;
    for (let i = 0; i < n; i++) {
      const pr = this.progress.get(this.voters[i]!);
      const v = pr === undefined ? 0 : pr.match;
      // Insertion sort, descending: voter sets are tiny.
      let j = i;
      while (j > 0 && m[j - 1]! < v) {
        m[j] = m[j - 1]!;
        j--;
      }
      m[j] = v;
    }
    return m[Math.max(0, (n >> 1) - acksShort)]!;
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Records a vote; the first answer of each voter counts. */
  recordVote(id: number, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  /** Whether `yes` (id -> granted) wins, loses or may still win among the voters. */
  voteResult(yes: ReadonlyMap<number, boolean>): VoteResult {
    const n = this.voters.length;
    if (n === 0) return "won";
    let granted = 0;
    let missing = 0;
    for (const id of this.voters) {
      const v = yes.get(id);
      if (v === true) granted++;
      else if (v === undefined) missing++;
    }
    const q = (n >> 1) + 1;
    if (granted >= q) return "won";
    if (granted + missing >= q) return "pending";
    return "lost";
  }

  /** Whether a quorum of voters has been recently active. */
  quorumActive(): boolean {
    let active = 0;
    for (const id of this.voters) {
      if (this.progress.get(id)?.recentActive === true) active++;
    }
    return active >= (this.voters.length >> 1) + 1;
  }
}
