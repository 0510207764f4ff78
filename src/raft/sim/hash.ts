// Cheap 32-bit hashes that let the checker compare whole log prefixes in O(1): the hash of
// entry i folds in the hash of entry i-1, so two logs with equal hashes at index i hold the
// same entries at every index up to i (barring a 1-in-2^32 collision, which could only hide
// a violation, never invent one).
import type { Entry } from "../types.js";

/** FNV-1a over the bytes. */
export function bytesHash(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h = Math.imul(h ^ data[i]!, 0x01000193);
  }
  return h >>> 0;
}

/** Hash of a log prefix ending in an entry with this term, type and data hash. */
export function chainHash(prev: number, term: number, type: number, dataHash: number): number {
  let h = Math.imul(prev ^ term, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h ^ dataHash, 0x85ebca6b);
  h ^= type;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function entryChainHash(prev: number, e: Entry): number {
  return chainHash(prev, e.term, e.type, bytesHash(e.data));
}
