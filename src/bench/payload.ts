// Benchmark payloads in the project's proposal format (src/proposal/proposal.ts), so an engine
// applies them as key-value writes. One maker for every workload and binary.
import { fillProposal, minPayloadSize } from "../proposal/proposal.js";
import { DEFAULT_KEYS, type KeySpec, keyChooser } from "./keys.js";

/**
 * Builds the data of one proposal: exactly `bytes` long. The workload calls it once per
 * proposal and never reuses the returned buffer, since the proposal's bytes may live on in a
 * log cache or an in-memory WAL long after it is acknowledged.
 */
export type MakePayload = (workerId: number, seq: number, bytes: number) => Uint8Array;

const SLAB_BYTES = 1 << 20;
const KEY_BYTES = 4;

// Ids are unique across every payload this process makes, over all runs and makers, so a
// proposal can be told apart from any other by its id alone (a worker's sequence number
// would repeat across workers).
let nextProposalId = 0;

/**
 * A MakePayload producing proposals: a fresh id, a 4-byte little-endian key chosen by
 * `keys` (--keys; the key is left out when `bytes` is too small for it), and a zero value
 * filling the rest. Payloads are carved out of 1 MiB slabs: one allocation per ~4,000
 * payloads of 256 B instead of one each, and no slab byte is ever handed out twice.
 */
export function proposalPayloadMaker(
  keys: KeySpec = { kind: "uniform", keys: DEFAULT_KEYS },
  seed = 1,
): MakePayload {
  let slab = new Uint8Array(0);
  let used = 0;
  const key = new Uint8Array(KEY_BYTES);
  const keyView = new DataView(key.buffer);
  const noKey = new Uint8Array(0);
  const nextKey = keyChooser(keys, seed);
  const withKey = minPayloadSize(KEY_BYTES);
  return (_workerId, _seq, bytes) => {
    if (used + bytes > slab.length) {
      slab = new Uint8Array(Math.max(SLAB_BYTES, bytes));
      used = 0;
    }
    const into = slab.subarray(used, used + bytes);
    let chosen = noKey;
    if (bytes >= withKey) {
      keyView.setUint32(0, nextKey() >>> 0, true);
      chosen = key;
    }
    fillProposal(into, nextProposalId, chosen);
    nextProposalId++;
    used += bytes;
    return into;
  };
}
