// A loop turn's proposals: the buffered ones proposed as one batch, then matched to the log
// entries the leader appended for them, so that the tracker can settle each proposal by the
// index it was given (proposal-tracker.ts).
import { LOCAL_APPEND_THREAD, type Ready, type Role } from "../raft/api.js";
import { isRaftError } from "../raft/errors.js";
import type { Entry } from "../raft/types.js";
import type { PeerNode } from "./contracts.js";
import { type ProposalBuffer, rejectTaken, type TakenProposals } from "./proposal-buffer.js";
import { ProposalError, type ProposalTracker } from "./proposal-tracker.js";

/**
 * Proposes up to `max` buffered proposals as one batch; returns what it proposed (to be
 * matched once the Ready is out), or undefined when nothing was (a non-leader, or the core
 * refused the batch: those proposals are rejected).
 */
export function proposeFromBuffer(
  buffer: ProposalBuffer,
  at: { readonly node: PeerNode; readonly role: Role },
  max: number,
): TakenProposals | undefined {
  if (buffer.length === 0) return undefined;
  const taken = buffer.take(max);
  if (at.role !== "leader") {
    rejectTaken(taken, new ProposalError("not leader", "not-leader"));
    return undefined;
  }
  try {
    at.node.proposeBatch(taken.datas);
    return taken;
  } catch (err) {
    if (!isRaftError(err)) throw err;
    rejectTaken(taken, new ProposalError(err.reason || err.code));
    return undefined;
  }
}

/** The entries a Ready asks to append: Ready.entries, or in async mode the local append's. */
export function appendedEntries(rd: Ready): readonly Entry[] {
  if (rd.entries.length > 0) return rd.entries;
  for (const m of rd.messages) {
    if (m.to === LOCAL_APPEND_THREAD && m.entries.length > 0) return m.entries;
  }
  return rd.entries;
}

/**
 * Tracks the batch just proposed: it is the tail of the entries this Ready appends, since
 * nothing else is appended between proposeBatch() and ready() in one turn. A batch not
 * found there is rejected.
 */
export function trackProposals(
  tracker: ProposalTracker,
  entries: readonly Entry[],
  taken: TakenProposals,
): void {
  const n = taken.datas.length;
  const last = entries[entries.length - 1];
  if (entries.length < n || last === undefined || last.data !== taken.datas[n - 1]) {
    rejectTaken(taken, new ProposalError("not found in the appended entries", "lost"));
    return;
  }
  const first = entries[entries.length - n]!;
  const { resolves, rejects, startMs } = taken;
  const measured = startMs.length === n;
  for (let k = 0; k < n; k++) {
    tracker.track(
      first.index + k,
      first.term,
      resolves[k]!,
      rejects[k]!,
      measured ? startMs[k] : 0,
    );
  }
}
