// A node's log as the checker sees it: the term and prefix hash of every entry after a base
// (the snapshot index). Entries themselves are not kept.

/** What the properties may read of a view. */
export interface LogReader {
  readonly first: number;
  readonly last: number;
  has(index: number): boolean;
  termAt(index: number): number;
  hashAt(index: number): number;
}

export class LogView implements LogReader {
  private base: number;
  private terms: number[];
  private hashes: number[];

  constructor(base = 0, baseTerm = 0, baseHash = 0) {
    this.base = base;
    this.terms = [baseTerm];
    this.hashes = [baseHash];
  }

  /** Index of the snapshot the view starts from (its term and hash are known). */
  get first(): number {
    return this.base;
  }

  get last(): number {
    return this.base + this.terms.length - 1;
  }

  has(index: number): boolean {
    return index >= this.base && index <= this.last;
  }

  termAt(index: number): number {
    return this.terms[index - this.base]!;
  }

  hashAt(index: number): number {
    return this.hashes[index - this.base]!;
  }

  /** Drops every entry after `index` (index >= first). */
  truncateAfter(index: number): void {
    this.terms.length = index - this.base + 1;
    this.hashes.length = index - this.base + 1;
  }

  push(term: number, hash: number): void {
    this.terms.push(term);
    this.hashes.push(hash);
  }

  reset(base: number, term: number, hash: number): void {
    this.base = base;
    this.terms = [term];
    this.hashes = [hash];
  }

  clone(): LogView {
    const v = new LogView(this.base, 0, 0);
    v.terms = this.terms.slice();
    v.hashes = this.hashes.slice();
    return v;
  }
}
