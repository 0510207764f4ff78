// Benchmark payloads in the project's proposal format, so an engine can apply them as
// key-value writes: the key is chosen by --keys (src/bench/keys.ts) as a 4-byte number, the
// id is the worker's sequence number, and the value fills the rest of the requested size.
import { DEFAULT_KEYS, type KeySpec, keyChooser } from "../bench/keys.js";
import type { MakePayload } from "../bench/payload.js";
import { fillProposal, minPayloadSize } from "../codec/proposal.js";

const SLAB_BYTES = 1 << 20;
const KEY_BYTES = 4;

/** The smallest --bytes a proposal payload can have. */
export const MIN_PROPOSAL_BYTES = minPayloadSize(KEY_BYTES);

export function proposalPayloadMaker(
  keys: KeySpec = { kind: "uniform", keys: DEFAULT_KEYS },
  seed = 1,
): MakePayload {
  let slab = new Uint8Array(0);
  let used = 0;
  const key = new Uint8Array(KEY_BYTES);
  const keyView = new DataView(key.buffer);
  const nextKey = keyChooser(keys, seed);
  return (_workerId, seq, bytes) => {
    // Payloads are carved from shared slabs and never reused: an in-memory log may keep
    // them long after they are acknowledged.
    if (used + bytes > slab.length) {
      slab = new Uint8Array(Math.max(SLAB_BYTES, bytes));
      used = 0;
    }
    const out = slab.subarray(used, used + bytes);
    used += bytes;
    keyView.setUint32(0, nextKey() >>> 0, true);
    return fillProposal(out, seq, key);
  };
}
