// Where each live entry of the file log sits on disk, in parallel typed arrays rather than
// one object per entry: a log of millions of entries costs 21 bytes each and no GC work.
// Live entries are [first, first + count); term(first - 1) is `prevTerm`.
import type { EntryType } from "../../raft/types.js";

export class EntryIndex {
  first = 1;
  prevTerm = 0;
  count = 0;
  /** Slot of entry `first` in the arrays; compaction advances it instead of moving data. */
  private start = 0;
  private terms = new Float64Array(1024);
  private types = new Uint8Array(1024);
  private segs = new Uint32Array(1024);
  private offsets = new Uint32Array(1024);
  private lengths = new Uint32Array(1024);

  get last(): number {
    return this.first + this.count - 1;
  }

  lastTerm(): number {
    return this.count === 0 ? this.prevTerm : this.terms[this.start + this.count - 1]!;
  }

  term(i: number): number {
    return i === this.first - 1 ? this.prevTerm : this.terms[this.start + i - this.first]!;
  }

  type(i: number): EntryType {
    return this.types[this.start + i - this.first]! as EntryType;
  }

  seg(i: number): number {
    return this.segs[this.start + i - this.first]!;
  }

  offset(i: number): number {
    return this.offsets[this.start + i - this.first]!;
  }

  length(i: number): number {
    return this.lengths[this.start + i - this.first]!;
  }

  /** Appends entry `last + 1`. */
  push(term: number, type: EntryType, seg: number, offset: number, length: number): void {
    if (this.start + this.count === this.terms.length) this.makeRoom();
    const s = this.start + this.count;
    this.terms[s] = term;
    this.types[s] = type;
    this.segs[s] = seg;
    this.offsets[s] = offset;
    this.lengths[s] = length;
    this.count++;
  }

  /**
   * Appends one batch: entry k has term `terms[k].term`, its data at `base + offsets[k]`
   * in segment `seg`, `lengths[k]` bytes long.
   */
  pushBatch(
    batch: readonly { term: number; type: EntryType }[],
    seg: number,
    base: number,
    offsets: Uint32Array,
    lengths: Uint32Array,
  ): void {
    const n = batch.length;
    while (this.start + this.count + n > this.terms.length) this.makeRoom(n);
    const s = this.start + this.count;
    const { terms, types, segs } = this;
    for (let k = 0; k < n; k++) {
      const e = batch[k]!;
      terms[s + k] = e.term;
      types[s + k] = e.type;
    }
    segs.fill(seg, s, s + n);
    for (let k = 0; k < n; k++) this.offsets[s + k] = base + offsets[k]!;
    this.lengths.set(lengths.subarray(0, n), s);
    this.count += n;
  }

  /** Keeps entries below `i` (i in [first, last + 1]). */
  truncateFrom(i: number): void {
    this.count = i - this.first;
  }

  /** Drops entries up to `upTo` (in [first - 1, last]); term(upTo) becomes prevTerm. */
  compact(upTo: number): void {
    const drop = upTo - this.first + 1;
    this.prevTerm = this.term(upTo);
    this.start += drop;
    this.count -= drop;
    this.first = upTo + 1;
  }

  /** Empties the log so that it restarts after (index, term). */
  reset(index: number, term: number): void {
    this.first = index + 1;
    this.prevTerm = term;
    this.count = 0;
    this.start = 0;
  }

  private makeRoom(needed = 1): void {
    const cap = this.terms.length;
    if (this.start >= cap / 2 && this.count + needed <= cap) {
      // Mostly compacted away: slide the live part to the front instead of growing.
      const from = this.start;
      const to = from + this.count;
      this.terms.copyWithin(0, from, to);
      this.types.copyWithin(0, from, to);
      this.segs.copyWithin(0, from, to);
      this.offsets.copyWithin(0, from, to);
      this.lengths.copyWithin(0, from, to);
      this.start = 0;
      return;
    }
    const grow = <T extends Float64Array | Uint32Array | Uint8Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(cap * 2);
      b.set(a.subarray(this.start, this.start + this.count));
      return b;
    };
    this.terms = grow(this.terms, (n) => new Float64Array(n));
    this.types = grow(this.types, (n) => new Uint8Array(n));
    this.segs = grow(this.segs, (n) => new Uint32Array(n));
    this.offsets = grow(this.offsets, (n) => new Uint32Array(n));
    this.lengths = grow(this.lengths, (n) => new Uint32Array(n));
    this.start = 0;
  }
}
