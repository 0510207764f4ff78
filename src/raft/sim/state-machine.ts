// The application the simulated nodes run: it applies every committed entry by folding it
// into a prefix hash, so two state machines that applied the same entries in the same order
// are in the same state. It is durable (like an engine that records its applied index):
// it survives a crash, and it skips entries it has already applied when the core hands
// them out again after a restart.
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  type Snapshot,
} from "../types.js";
import { entryChainHash } from "./hash.js";

/** What a snapshot's data holds: the state machine position it captures. */
export interface SnapshotImage {
  index: number;
  hash: number;
}

const IMAGE_BYTES = 12;

export function encodeImage(img: SnapshotImage): Uint8Array {
  const out = new Uint8Array(IMAGE_BYTES);
  const dv = new DataView(out.buffer);
  dv.setFloat64(0, img.index, true);
  dv.setUint32(8, img.hash, true);
  return out;
}

export function decodeImage(data: Uint8Array): SnapshotImage {
  if (data.length !== IMAGE_BYTES) {
    throw new Error(`snapshot data is ${data.length} bytes, expected ${IMAGE_BYTES}`);
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { index: dv.getFloat64(0, true), hash: dv.getUint32(8, true) };
}

export class StateMachine {
  index = 0;
  term = 0;
  hash = 0;
  confState: ConfState = { voters: [], learners: [] };

  /** Applies the next entry; the caller has checked that e.index === this.index + 1. */
  apply(e: Entry): void {
    this.hash = entryChainHash(this.hash, e);
    this.index = e.index;
    this.term = e.term;
  }

  /**
   * Tracks the membership the applied entries describe, independently of the core (whose
   * configuration may already be a newer snapshot's while older entries are applied).
   */
  applyConfChange(cc: ConfChange): void {
    const voters = this.confState.voters.filter((id) => id !== cc.nodeId);
    const learners = this.confState.learners.filter((id) => id !== cc.nodeId);
    if (cc.type === ConfChangeType.AddNode) voters.push(cc.nodeId);
    else if (cc.type === ConfChangeType.AddLearnerNode) learners.push(cc.nodeId);
    else if (cc.type === ConfChangeType.UpdateNode) return;
    this.confState = { voters, learners };
  }

  restore(snap: Snapshot): void {
    const img = decodeImage(snap.data);
    this.index = snap.metadata.index;
    this.term = snap.metadata.term;
    this.hash = img.hash;
    this.confState = snap.metadata.confState;
  }

  image(): Uint8Array {
    return encodeImage({ index: this.index, hash: this.hash });
  }
}
