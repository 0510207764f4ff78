import { fillProposal, minPayloadSize } from "../codec/proposal.js";

/**
 * Builds the data of one proposal: exactly `bytes` long. The workload calls it once per
 * proposal and never reuses the returned buffer, since the proposal's bytes may live on in a
 * log cache or an in-memory WAL long after it is acknowledged.
 */
export type MakePayload = (workerId: number, seq: number, bytes: number) => Uint8Array;

const SLAB_BYTES = 1 << 20;
const KEY_BYTES = 4;

// Ids are unique across every payload this process makes, over all runs, so a proposal can
// be told apart from any other by its id alone.
let nextProposalId = 0;

/**
 * A MakePayload producing proposals in the project's format (src/codec/proposal.ts): a fresh id,
 * the worker's id as a 4-byte little-endian key (so the engine keeps one key per worker and
 * its size does not grow with the run; the key is left out when `bytes` is too small for it),
 * and a zero value filling the rest. Payloads are carved out of 1 MiB slabs: one allocation per
 * ~4,000 payloads of 256 B instead of one each, and no slab byte is ever handed out twice.
 */
export function proposalPayloadMaker(): MakePayload {
  let slab = new Uint8Array(0);
  let used = 0;
  const keys: Uint8Array[] = [];
  const keyOf = (workerId: number): Uint8Array => {
    let key = keys[workerId];
    if (key === undefined) {
      key = new Uint8Array(KEY_BYTES);
      new DataView(key.buffer).setUint32(0, workerId >>> 0, true);
      keys[workerId] = key;
    }
    return key;
  };
  const withKey = minPayloadSize(KEY_BYTES);
  return (workerId, _seq, bytes) => {
    if (used + bytes > slab.length) {
      slab = new Uint8Array(Math.max(SLAB_BYTES, bytes));
      used = 0;
    }
    const into = slab.subarray(used, used + bytes);
    const key = bytes >= withKey ? keyOf(workerId) : new Uint8Array(0);
    fillProposal(into, nextProposalId, key);
    nextProposalId++;
    used += bytes;
    return into;
  };
}
