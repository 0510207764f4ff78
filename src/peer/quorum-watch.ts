// Lost quorum is an error, not a result: while a benchmark runs, the leader watches that it
// still leads and still commits. Nothing committed for two election timeouts while proposals
// wait, or leadership lost and not regained within a bound, ends the run with one line.
import { every, realScheduler, type Scheduler } from "./clock.js";
import {
  MIN_REGAIN_MS,
  MIN_STALL_MS,
  QUORUM_WATCH_EVERY_MS,
  REGAIN_ELECTION_TIMEOUTS,
  STALL_ELECTION_TIMEOUTS,
} from "./limits.js";

/** What the watch reads from the leader's Peer. */
export interface WatchedLeader {
  isLeader(): boolean;
  campaign(): void;
  status(): { commit: number; term: number; lead: number; role: string };
  stats(): { inflightProposals: number };
}

export interface QuorumWatchOptions {
  /** The cluster's election timeout (tick × election ticks), in ms. */
  electionTimeoutMs: number;
  /** Called once, with the line to print, when the run cannot go on. */
  onLost: (line: string) => void;
  /** How often to look, in ms (default QUORUM_WATCH_EVERY_MS). */
  everyMs?: number;
  /** Time and timers; default the real ones. */
  scheduler?: Scheduler;
}

const HINT = "are the followers running and reachable?";

export class QuorumWatch {
  private readonly target: WatchedLeader;
  private readonly stallMs: number;
  private readonly regainMs: number;
  private readonly retryMs: number;
  private readonly opts: QuorumWatchOptions;
  private readonly scheduler: Scheduler;
  private cancelTimer: (() => void) | undefined;
  private active = false;
  private lost = false;
  private lastCommit = -1;
  private commitSince = 0;
  private notLeaderSince: number | undefined;
  private lastCampaign = 0;

  constructor(target: WatchedLeader, opts: QuorumWatchOptions) {
    this.target = target;
    this.opts = opts;
    this.stallMs = Math.max(MIN_STALL_MS, STALL_ELECTION_TIMEOUTS * opts.electionTimeoutMs);
    this.regainMs = Math.max(MIN_REGAIN_MS, REGAIN_ELECTION_TIMEOUTS * opts.electionTimeoutMs);
    this.retryMs = 2 * opts.electionTimeoutMs;
    this.scheduler = opts.scheduler ?? realScheduler;
  }

  /** Starts (or resumes) watching; the leader should lead now. */
  resume(now = this.scheduler.now()): void {
    this.active = true;
    this.lastCommit = -1;
    this.commitSince = now;
    this.notLeaderSince = undefined;
    if (this.cancelTimer === undefined) {
      const s = this.scheduler;
      this.cancelTimer = every(s, this.opts.everyMs ?? QUORUM_WATCH_EVERY_MS, () =>
        this.check(s.now()),
      );
    }
  }

  /** Stops looking while the leader deliberately is not leading (a new epoch). */
  pause(): void {
    this.active = false;
  }

  stop(): void {
    this.active = false;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  /** One look at the leader (the timer calls it; tests call it with their own clock). */
  check(now: number): void {
    if (!this.active || this.lost) return;
    const t = this.target;
    if (!t.isLeader()) {
      this.notLeaderSince ??= now;
      if (now - this.notLeaderSince >= this.regainMs) {
        const st = t.status();
        this.fail(
          `lost leadership and could not regain it within ${this.regainMs} ms (now ${st.role} in term ${st.term}, leader ${st.lead === 0 ? "unknown" : st.lead}): ${HINT}`,
        );
      } else if (now - this.lastCampaign >= this.retryMs) {
        this.lastCampaign = now;
        t.campaign();
      }
      return;
    }
    if (this.notLeaderSince !== undefined) {
      this.notLeaderSince = undefined;
      this.commitSince = now;
    }
    const { commit } = t.status();
    const waiting = t.stats().inflightProposals;
    if (commit !== this.lastCommit || waiting === 0) {
      this.lastCommit = commit;
      this.commitSince = now;
      return;
    }
    if (now - this.commitSince >= this.stallMs) {
      this.fail(
        `lost quorum: nothing committed for ${Math.round(now - this.commitSince)} ms (commit index ${commit}, ${waiting} proposals waiting): ${HINT}`,
      );
    }
  }

  private fail(line: string): void {
    this.lost = true;
    this.stop();
    this.opts.onLost(line);
  }
}
