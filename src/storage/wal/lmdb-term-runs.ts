// The term of every live index of a log, stored as runs: terms never decrease along a Raft
// log and change only at elections, so a log of millions of entries has a handful of runs.
// Run k covers [starts[k], starts[k + 1]); the first run starts at firstIndex - 1, whose
// term is the one left by compaction or reset.
import { WalError } from "../errors.js";

export class TermRuns {
  private starts: number[] = [];
  private terms: number[] = [];
  private lastIndex = 0;

  constructor(prevIndex: number, prevTerm: number) {
    this.reset(prevIndex, prevTerm);
  }

  get prevIndex(): number {
    return this.starts[0]!;
  }

  get last(): number {
    return this.lastIndex;
  }

  lastTerm(): number {
    return this.terms[this.terms.length - 1]!;
  }

  /** Term of index i in [prevIndex, last]; the caller checks the range. */
  term(i: number): number {
    const n = this.starts.length;
    if (i >= this.starts[n - 1]!) return this.terms[n - 1]!;
    let lo = 0;
    let hi = n - 1;
    // Invariant: starts[lo] <= i < starts[hi].
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! <= i) lo = mid;
      else hi = mid;
    }
    return this.terms[lo]!;
  }

  /** Records entry last + 1 with `term` (not below lastTerm(); the caller checks). */
  push(term: number): void {
    this.lastIndex++;
    if (term !== this.terms[this.terms.length - 1]) {
      this.starts.push(this.lastIndex);
      this.terms.push(term);
    }
  }

  /** Forgets indexes at and above i (i > prevIndex). */
  truncateFrom(i: number): void {
    while (this.starts[this.starts.length - 1]! >= i) {
      this.starts.pop();
      this.terms.pop();
    }
    this.lastIndex = i - 1;
  }

  /** Forgets indexes below upTo, which becomes prevIndex (upTo in [prevIndex, last]). */
  compact(upTo: number): void {
    const term = this.term(upTo);
    let drop = 0;
    while (drop + 1 < this.starts.length && this.starts[drop + 1]! <= upTo) drop++;
    this.starts.splice(0, drop);
    this.terms.splice(0, drop);
    this.starts[0] = upTo;
    this.terms[0] = term;
  }

  /**
   * Rebuilds the runs of a stored log [prevIndex + 1, last] by bisection: since terms never
   * decrease, equal terms at both ends of a range mean one run, so the work is a few reads
   * per term change instead of one read per entry.
   */
  static rebuild(
    prevIndex: number,
    prevTerm: number,
    last: number,
    termAt: (i: number) => number,
  ): TermRuns {
    const runs = new TermRuns(prevIndex, prevTerm);
    const changes: [number, number][] = [];
    // Finds every index in (lo, hi] whose term differs from its predecessor's.
    const split = (lo: number, tlo: number, hi: number, thi: number): void => {
      if (tlo === thi) return;
      if (tlo > thi) {
        throw new WalError(
          "corrupt",
          `stored log has term ${tlo} at ${lo} above term ${thi} at ${hi}`,
        );
      }
      if (hi - lo === 1) {
        changes.push([hi, thi]);
        return;
      }
      const mid = lo + Math.floor((hi - lo) / 2);
      const tmid = termAt(mid);
      split(lo, tlo, mid, tmid);
      split(mid, tmid, hi, thi);
    };
    if (last > prevIndex) split(prevIndex, prevTerm, last, termAt(last));
    for (const [start, term] of changes) {
      runs.starts.push(start);
      runs.terms.push(term);
    }
    runs.lastIndex = last;
    return runs;
  }

  reset(prevIndex: number, prevTerm: number): void {
    this.starts = [prevIndex];
    this.terms = [prevTerm];
    this.lastIndex = prevIndex;
  }
}
