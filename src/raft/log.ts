// The Raft log as the core sees it: the durable entries behind the LogStorage view, plus the
// unstable tail not yet persisted. Tracks the commit index and how far entries have been
// handed out for application (`applying`) and confirmed applied (`applied`).
import type { LogStorage } from "./api.js";
import { EntrySizes, SIZES_KEPT_BELOW_APPLIED } from "./entry-sizes.js";
import { InvariantViolation, invariant, isRaftError } from "./errors.js";
import type { Entry, Snapshot } from "./types.js";
import { Unstable } from "./unstable.js";
import { entriesSize } from "./util.js";

/** Outcome of a term lookup that may fall outside the log. */
export const TERM_COMPACTED = -1;
export const TERM_UNAVAILABLE = -2;

export class RaftLog {
  readonly storage: LogStorage;
  readonly unstable: Unstable;
  committed: number;
  /** Highest index handed out for application, not necessarily applied yet. */
  applying: number;
  applied: number;
  /** Bytes handed out for application and not yet confirmed applied. */
  private applyingSize = 0;
  private applyingPaused = false;
  readonly maxApplyingSize: number;
  /** Whether applying sizes matter (a bounded maxApplyingSize); else sizes are skipped. */
  readonly tracksApplyingSize: boolean;
  /**
   * Sizes of the entries appended in this incarnation (not those found in storage at
   * startup), so size limits and byte accounting do not measure the same entries again.
   */
  private readonly sizes: EntrySizes;

  constructor(storage: LogStorage, maxApplyingSize: number) {
    this.storage = storage;
    const first = storage.firstIndex();
    const last = storage.lastIndex();
    this.unstable = new Unstable(last + 1);
    this.sizes = new EntrySizes(last + 1);
    this.committed = first - 1;
    this.applying = first - 1;
    this.applied = first - 1;
    this.maxApplyingSize = maxApplyingSize;
    this.tracksApplyingSize = maxApplyingSize !== Number.POSITIVE_INFINITY;
  }

  firstIndex(): number {
    const i = this.unstable.maybeFirstIndex();
    return i === undefined ? this.storage.firstIndex() : i;
  }

  lastIndex(): number {
    const i = this.unstable.maybeLastIndex();
    return i === undefined ? this.storage.lastIndex() : i;
  }

  /**
   * Term of entry i, or TERM_COMPACTED / TERM_UNAVAILABLE when i is below the first
   * retained index minus one / above the last index.
   */
  term(i: number): number {
    const t = this.unstable.maybeTerm(i);
    if (t !== -1) return t;
    if (i + 1 < this.firstIndex()) return TERM_COMPACTED;
    if (i > this.lastIndex()) return TERM_UNAVAILABLE;
    try {
      return this.storage.term(i);
    } catch (e) {
      if (isRaftError(e, "compacted")) return TERM_COMPACTED;
      if (isRaftError(e, "unavailable")) return TERM_UNAVAILABLE;
      throw e;
    }
  }

  /** Term of entry i, or 0 when it is outside the log. */
  termOrZero(i: number): number {
    const t = this.term(i);
    return Math.max(t, 0);
  }

  lastTerm(): number {
    const t = this.term(this.lastIndex());
    invariant(t >= 0, "last-term-known", () => `term of last index ${this.lastIndex()} unknown`);
    return t;
  }

  matchTerm(index: number, term: number): boolean {
    const t = this.term(index);
    return t >= 0 && t === term;
  }

  /** Whether a log ending at (index, term) is at least as up to date as this one. */
  isUpToDate(index: number, term: number): boolean {
    const lt = this.lastTerm();
    return term > lt || (term === lt && index >= this.lastIndex());
  }

  /**
   * The index of the first entry of `ents` that is not already in the log (with the same
   * term), or 0 when all of them are.
   */
  findConflict(ents: readonly Entry[]): number {
    // Entries past the last index are new: only the overlap with the log needs a lookup,
    // so appending at the end costs nothing per entry.
    const last = this.lastIndex();
    for (let i = 0; i < ents.length; i++) {
      const e = ents[i]!;
      if (e.index > last || !this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term`, with that term; an index whose
   * term is unknown (compacted) counts as a possible match with term 0.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (; index > 0; index--) {
      const t = this.term(index);
      if (t < 0) return [index, 0];
      if (t <= term) return [index, t];
    }
    return [0, 0];
  }

  /**
   * Appends entries sent by a leader after (prevIndex, prevTerm). Returns the index of the
   * last new entry, or -1 when the log does not contain (prevIndex, prevTerm).
   */
  maybeAppend(
    prevIndex: number,
    prevTerm: number,
    committed: number,
    ents: readonly Entry[],
  ): number {
    if (!this.matchTerm(prevIndex, prevTerm)) return -1;
    const lastNew = prevIndex + ents.length;
    const ci = this.findConflict(ents);
    if (ci !== 0) {
      invariant(
        ci > this.committed,
        "no-committed-overwrite",
        () => `entry ${ci} conflicts with committed ${this.committed}`,
      );
      this.append(ci === ents[0]!.index ? ents : ents.slice(ci - prevIndex - 1));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(ents: readonly Entry[]): number {
    if (ents.length === 0) return this.lastIndex();
    const after = ents[0]!.index - 1;
    invariant(
      after >= this.committed,
      "no-committed-overwrite",
      () => `append after ${after} is below committed ${this.committed}`,
    );
    this.unstable.truncateAndAppend(ents);
    this.sizes.append(ents);
    return this.lastIndex();
  }

  /**
   * Payload bytes of `ents`, a run of entries as this log holds them (sliced from it, or
   * committed), from the recorded sizes when they are known.
   */
  entriesBytes(ents: readonly Entry[]): number {
    if (ents.length === 0) return 0;
    const lo = ents[0]!.index;
    const hi = ents[ents.length - 1]!.index + 1;
    if (hi - lo === ents.length && this.sizes.covers(lo, hi)) return this.sizes.bytes(lo, hi);
    return entriesSize(ents);
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    invariant(
      index <= this.lastIndex(),
      "commit-within-log",
      () =>
        `commit ${index} is beyond last index ${this.lastIndex()}; the log was lost or truncated`,
    );
    this.committed = index;
  }

  /** Commits `index` if it is past the commit index and its entry has `term`. */
  maybeCommit(index: number, term: number, ignoreTerm: boolean): boolean {
    if (index > this.committed && (ignoreTerm || this.termOrZero(index) === term)) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  private maxAppliableIndex(allowUnstable: boolean): number {
    return allowUnstable ? this.committed : Math.min(this.committed, this.unstable.offset - 1);
  }

  hasNextCommittedEnts(allowUnstable: boolean): boolean {
    if (this.applyingPaused || this.unstable.snapshot !== undefined) return false;
    return this.applying < this.maxAppliableIndex(allowUnstable);
  }

  /** Committed entries not yet handed out for application, within the size budget. */
  nextCommittedEnts(allowUnstable: boolean): Entry[] {
    if (!this.hasNextCommittedEnts(allowUnstable)) return [];
    const lo = this.applying + 1;
    const hi = this.maxAppliableIndex(allowUnstable) + 1;
    const budget = this.maxApplyingSize - this.applyingSize;
    const ents = this.slice(lo, hi, budget > 0 ? budget : 1);
    invariant(
      ents !== undefined,
      "committed-entries-available",
      () => `committed entries [${lo}, ${hi}) were compacted before being applied`,
    );
    return ents;
  }

  acceptApplying(index: number, size: number, allowUnstable: boolean): void {
    invariant(
      index <= this.committed,
      "apply-committed-only",
      () => `applying ${index} beyond commit ${this.committed}`,
    );
    this.applying = index;
    this.applyingSize += size;
    this.applyingPaused =
      this.applyingSize >= this.maxApplyingSize || index < this.maxAppliableIndex(allowUnstable);
  }

  appliedTo(index: number, size: number): void {
    invariant(
      index <= this.committed && index >= this.applied,
      "applied-in-range",
      () => `applied ${index} outside [${this.applied}, ${this.committed}]`,
    );
    this.applied = index;
    if (this.applying < index) this.applying = index;
    this.applyingSize = this.applyingSize > size ? this.applyingSize - size : 0;
    this.applyingPaused = this.applyingSize >= this.maxApplyingSize;
    this.sizes.forgetBelow(index + 1 - SIZES_KEPT_BELOW_APPLIED);
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  acceptUnstable(): void {
    this.unstable.acceptInProgress();
  }

  hasNextUnstableEnts(): boolean {
    return this.unstable.hasNextEntries();
  }

  hasNextOrInProgressUnstableEnts(): boolean {
    return this.unstable.entries.length > 0;
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
    this.sizes.reset(s.metadata.index + 1);
  }

  /** Entries from i to the end, up to maxSize bytes; undefined when i was compacted. */
  entries(i: number, maxSize: number): Entry[] | undefined {
    const last = this.lastIndex();
    if (i > last) return [];
    return this.slice(i, last + 1, maxSize);
  }

  /**
   * Entries in [lo, hi) up to maxSize bytes (at least one), or undefined when lo was
   * compacted. The result may be shared with storage or a message: never mutate it.
   */
  slice(lo: number, hi: number, maxSize: number): Entry[] | undefined {
    invariant(lo <= hi, "slice-order", () => `slice [${lo}, ${hi}) is inverted`);
    const first = this.firstIndex();
    if (lo < first) return undefined;
    invariant(
      hi <= this.lastIndex() + 1,
      "slice-within-log",
      () => `slice [${lo}, ${hi}) beyond last index ${this.lastIndex()}`,
    );
    if (lo === hi) return [];
    if (maxSize !== Number.POSITIVE_INFINITY && this.sizes.covers(lo, hi)) {
      // Cut with the recorded sizes, then read without a limit: nothing is measured again.
      return this.sliceUnlimited(lo, this.sizes.limitEnd(lo, hi, maxSize));
    }
    const uoff = this.unstable.offset;
    if (lo >= uoff) return this.unstable.slice(lo, hi, maxSize);
    const cut = Math.min(hi, uoff);
    let stored: Entry[];
    try {
      stored = this.storage.entries(lo, cut, maxSize);
    } catch (e) {
      if (isRaftError(e, "compacted")) return undefined;
      throw e;
    }
    if (hi <= uoff || stored.length < cut - lo) return stored;
    const size = maxSize === Number.POSITIVE_INFINITY ? 0 : entriesSize(stored);
    if (size >= maxSize) return stored;
    const tail = this.unstable.slice(uoff, hi, maxSize - size);
    if (tail.length === 1 && size + entriesSize(tail) > maxSize) return stored;
    return stored.concat(tail);
  }

  /** Entries in [lo, hi) (lo not compacted, hi within the log), with no size limit. */
  private sliceUnlimited(lo: number, hi: number): Entry[] | undefined {
    const uoff = this.unstable.offset;
    if (lo >= uoff) return this.unstable.slice(lo, hi);
    const cut = Math.min(hi, uoff);
    let stored: Entry[];
    try {
      stored = this.storage.entries(lo, cut, Number.POSITIVE_INFINITY);
    } catch (e) {
      if (isRaftError(e, "compacted")) return undefined;
      throw e;
    }
    if (hi <= uoff || stored.length < cut - lo) return stored;
    return stored.concat(this.unstable.slice(uoff, hi));
  }

  /** Every entry from firstIndex to lastIndex (tests and debugging). */
  allEntries(): Entry[] {
    const ents = this.entries(this.firstIndex(), Number.POSITIVE_INFINITY);
    if (ents === undefined)
      throw new InvariantViolation("raft", "log-readable", "log compacted while reading it");
    return ents;
  }
}
