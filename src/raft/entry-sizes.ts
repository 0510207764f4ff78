// Payload sizes of the entries a node's log has appended, kept as running totals by index.
// Each entry is measured once, when the log appends it; afterwards the size of any run of
// tracked entries costs O(1) and where a byte limit cuts a run costs O(log n), instead of a
// pass over the entries every time the run is sent, handed out for applying, or applied.
import type { Entry } from "./types.js";

/** Entries kept tracked below the applied index, for followers a little behind it. */
export const SIZES_KEPT_BELOW_APPLIED = 4096;

export class EntrySizes {
  /** Index of the first tracked entry. */
  private first: number;
  /**
   * totals[k] - totals[0] is the payload of entries [first, first + k); `count` slots are
   * in use. A typed array: appending writes in place, without boxing or reallocating.
   */
  private totals = new Float64Array(1024);
  private count = 1;

  /** `next` is the index the next appended entry will have. */
  constructor(next: number) {
    this.first = next;
  }

  /** One past the last tracked index. */
  private get end(): number {
    return this.first + this.count - 1;
  }

  /** Forgets every size; the next entry appended will have index `next`. */
  reset(next: number): void {
    this.first = next;
    this.totals[0] = 0;
    this.count = 1;
  }

  /** Records contiguous `ents`, replacing whatever was tracked at or after their first index. */
  append(ents: readonly Entry[]): void {
    if (ents.length === 0) return;
    const from = ents[0]!.index;
    // Replacing entries below the tracked range, or leaving a gap: start again there.
    if (from < this.first || from > this.end) this.reset(from);
    let k = from - this.first;
    const need = k + 1 + ents.length;
    if (need > this.totals.length) {
      const grown = new Float64Array(Math.max(need, 2 * this.totals.length));
      grown.set(this.totals.subarray(0, k + 1));
      this.totals = grown;
    }
    const t = this.totals;
    let sum = t[k]!;
    for (let i = 0; i < ents.length; i++) {
      // `length`, not `byteLength`: equal for a Uint8Array, and much cheaper (see util.ts).
      sum += ents[i]!.data.length;
      t[++k] = sum;
    }
    this.count = k + 1;
  }

  /** Whether the sizes of every entry in [lo, hi) are known. */
  covers(lo: number, hi: number): boolean {
    return lo >= this.first && hi <= this.end && lo <= hi;
  }

  /** Payload bytes of [lo, hi); only within covers(lo, hi). */
  bytes(lo: number, hi: number): number {
    return this.totals[hi - this.first]! - this.totals[lo - this.first]!;
  }

  /**
   * The end (exclusive) of the longest run [lo, end) within `maxSize` bytes, never shorter
   * than one entry; only within covers(lo, hi).
   */
  limitEnd(lo: number, hi: number, maxSize: number): number {
    const t = this.totals;
    const base = t[lo - this.first]!;
    let k = hi - this.first;
    if (t[k]! - base <= maxSize) return hi;
    // The answer lies in [lo + 1, hi - 1]: the largest end whose run fits, or lo + 1.
    let ok = lo + 1 - this.first;
    k--;
    while (ok < k) {
      const mid = ok + Math.ceil((k - ok) / 2);
      if (t[mid]! - base <= maxSize) ok = mid;
      else k = mid - 1;
    }
    return this.first + ok;
  }

  /**
   * Stops tracking entries below `index`. Drops them in chunks of at least
   * SIZES_KEPT_BELOW_APPLIED so the cost of moving the rest stays O(1) per entry.
   */
  forgetBelow(index: number): void {
    const drop = Math.min(index - this.first, this.count - 1);
    if (drop < SIZES_KEPT_BELOW_APPLIED) return;
    // Totals stay absolute: differences of doubles are exact up to 2^53 bytes.
    this.totals.copyWithin(0, drop, this.count);
    this.count -= drop;
    this.first += drop;
  }
}
