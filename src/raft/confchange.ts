// Single-server membership changes: their byte encoding inside a ConfChange entry, and
// their effect on the progress tracker once the application applies them.
import { RaftError } from "./errors.js";
import type { ProgressTracker } from "./tracker.js";
import { type ConfChange, ConfChangeType, type ConfState } from "./types.js";

const CONF_CHANGE_VERSION = 1;
/** version (1) + type (1) + node id as two 32-bit halves (8). */
const HEADER_BYTES = 10;
const TWO_POW_32 = 0x1_0000_0000;

/** Encodes a ConfChange for an entry's data: a fixed header, then the context bytes. */
export function encodeConfChange(cc: ConfChange): Uint8Array {
  if (!Number.isSafeInteger(cc.nodeId) || cc.nodeId <= 0) {
    throw new RangeError(`conf change nodeId must be a positive safe integer, got ${cc.nodeId}`);
  }
  const out = new Uint8Array(HEADER_BYTES + cc.context.byteLength);
  const view = new DataView(out.buffer);
  out[0] = CONF_CHANGE_VERSION;
  out[1] = cc.type;
  view.setUint32(2, Math.floor(cc.nodeId / TWO_POW_32));
  view.setUint32(6, cc.nodeId >>> 0);
  out.set(cc.context, HEADER_BYTES);
  return out;
}

/** Decodes what encodeConfChange wrote; throws a RangeError on anything else. */
export function decodeConfChange(data: Uint8Array): ConfChange {
  if (data.byteLength < HEADER_BYTES || data[0] !== CONF_CHANGE_VERSION) {
    throw new RangeError(
      `not an encoded conf change (${data.byteLength} bytes, version ${data[0]}); encode it with encodeConfChange`,
    );
  }
  const type = data[1]!;
  if (type > ConfChangeType.AddLearnerNode) {
    throw new RangeError(`unknown conf change type ${type}`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const nodeId = view.getUint32(2) * TWO_POW_32 + view.getUint32(6);
  return {
    type: type as ConfChangeType,
    nodeId,
    context: data.slice(HEADER_BYTES),
  };
}

function insertSorted(ids: number[], id: number): void {
  if (ids.includes(id)) return;
  ids.push(id);
  ids.sort((a, b) => a - b);
}

function removeId(ids: number[], id: number): void {
  const i = ids.indexOf(id);
  if (i >= 0) ids.splice(i, 1);
}

/**
 * Why `cc` cannot be applied to the current membership, or undefined if it can. Removing
 * (or demoting) the last voter would leave a group that can never commit again.
 */
export function confChangeProblem(trk: ProgressTracker, cc: ConfChange): string | undefined {
  const isLastVoter = trk.voters.length === 1 && trk.voters[0] === cc.nodeId;
  if (
    isLastVoter &&
    (cc.type === ConfChangeType.RemoveNode || cc.type === ConfChangeType.AddLearnerNode)
  ) {
    return "would remove all voters";
  }
  if (cc.nodeId <= 0 || !Number.isSafeInteger(cc.nodeId)) return `invalid node id ${cc.nodeId}`;
  return undefined;
}

/**
 * Applies one change to the tracker. New members start probing from `lastIndex`; a learner
 * added as a voter is promoted and keeps its progress.
 */
export function applyToTracker(trk: ProgressTracker, cc: ConfChange, lastIndex: number): void {
  const id = cc.nodeId;
  switch (cc.type) {
    case ConfChangeType.AddNode: {
      const pr = trk.progress.get(id);
      if (pr === undefined) {
        const np = trk.newProgress(Math.max(lastIndex, 1), false);
        np.recentActive = true;
        trk.progress.set(id, np);
      } else {
        pr.isLearner = false;
      }
      removeId(trk.learners, id);
      insertSorted(trk.voters, id);
      break;
    }
    case ConfChangeType.AddLearnerNode: {
      const pr = trk.progress.get(id);
      if (pr === undefined) {
        const np = trk.newProgress(Math.max(lastIndex, 1), true);
        np.recentActive = true;
        trk.progress.set(id, np);
      } else {
        pr.isLearner = true;
      }
      removeId(trk.voters, id);
      insertSorted(trk.learners, id);
      break;
    }
    case ConfChangeType.RemoveNode:
      trk.progress.delete(id);
      removeId(trk.voters, id);
      removeId(trk.learners, id);
      break;
    case ConfChangeType.UpdateNode:
      break;
    default:
      throw new RaftError("invalid-config", `unknown conf change type ${cc.type as number}`);
  }
}

/** Rebuilds the tracker's membership from a ConfState (restart or snapshot). */
export function restoreTracker(trk: ProgressTracker, cs: ConfState, lastIndex: number): void {
  trk.progress.clear();
  trk.voters = [];
  trk.learners = [];
  for (const id of cs.voters) {
    applyToTracker(
      trk,
      { type: ConfChangeType.AddNode, nodeId: id, context: new Uint8Array(0) },
      lastIndex,
    );
  }
  for (const id of cs.learners) {
    applyToTracker(
      trk,
      { type: ConfChangeType.AddLearnerNode, nodeId: id, context: new Uint8Array(0) },
      lastIndex,
    );
  }
}
