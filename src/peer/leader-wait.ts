// Waiting for leadership and for followers to catch up: the polling the benchmark runner
// and tests do before a run, apart from the loop that does the work.
import type { Status } from "../raft/api.js";
import { type Scheduler, sleep } from "./clock.js";
import { PeerError } from "./errors.js";
import { MIN_CAMPAIGN_RETRY_MS, WAIT_POLL_MS } from "./limits.js";

/** What waiting reads from the Peer. */
export interface WaitTarget {
  readonly id: number;
  readonly peerIds: readonly number[];
  isLeader(): boolean;
  campaign(): void;
  status(): Status;
  /** Throws the node's failure, if it failed. */
  throwIfFailed(): void;
  /** The node failed or is stopping: nothing waited for will happen any more. */
  givenUp(): boolean;
}

/** Campaigns until `t` leads, retrying after two election timeouts; rejects after `timeoutMs`. */
export async function campaignUntilLeader(
  t: WaitTarget,
  s: Scheduler,
  electionTimeoutMs: number,
  timeoutMs: number,
): Promise<void> {
  const deadline = s.now() + timeoutMs;
  const retryMs = Math.max(MIN_CAMPAIGN_RETRY_MS, electionTimeoutMs * 2);
  while (!t.isLeader()) {
    t.throwIfFailed();
    if (s.now() > deadline) {
      throw new PeerError(
        "no-leader",
        `peer ${t.id} did not become leader within ${timeoutMs} ms: are the other peers running and reachable?`,
      );
    }
    t.campaign();
    await waitFor(t, s, () => t.isLeader(), Math.min(retryMs, deadline - s.now()));
  }
}

/** Resolves once every follower's log matches the leader's and all of it is committed. */
export async function waitForAllCaughtUp(
  t: WaitTarget,
  s: Scheduler,
  timeoutMs: number,
): Promise<void> {
  const ok = await waitFor(t, s, () => allCaughtUp(t), timeoutMs);
  if (!ok) {
    throw new PeerError(
      "not-caught-up",
      `followers did not catch up within ${timeoutMs} ms: are the other peers running and reachable?`,
    );
  }
}

function allCaughtUp(t: WaitTarget): boolean {
  if (!t.isLeader()) return false;
  const st = t.status();
  const self = st.progress.get(t.id);
  if (self === undefined || st.commit < self.match) return false;
  for (const id of t.peerIds) {
    const p = st.progress.get(id);
    if (p === undefined || p.match !== self.match) return false;
  }
  return true;
}

/** Polls `cond` until it holds (true) or `timeoutMs` passes or `t` gives up (false). */
async function waitFor(
  t: WaitTarget,
  s: Scheduler,
  cond: () => boolean,
  timeoutMs: number,
): Promise<boolean> {
  const deadline = s.now() + timeoutMs;
  while (!cond()) {
    if (t.givenUp() || s.now() >= deadline) return cond();
    await sleep(s, WAIT_POLL_MS);
  }
  return true;
}
