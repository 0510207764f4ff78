// The part of the log not yet known to be in stable storage: an optional incoming snapshot
// followed by entries. `offsetInProgress` marks how far the entries have been handed to
// storage (emitted in a Ready) so they are not handed out twice while a write is pending.
import { invariant } from "./errors.js";
import type { Entry, Snapshot } from "./types.js";
import { limitEnd, pushAll } from "./util.js";

export class Unstable {
  snapshot: Snapshot | undefined = undefined;
  /** entries[i] has index offset + i. */
  entries: Entry[] = [];
  offset: number;
  snapshotInProgress = false;
  /** Entries below this index have been handed out for writing already. */
  offsetInProgress: number;

  constructor(offset: number) {
    this.offset = offset;
    this.offsetInProgress = offset;
  }

  /** The first index if a snapshot is pending, else undefined. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index + 1;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot === undefined ? undefined : this.snapshot.metadata.index;
  }

  /** The term of entry i if this unstable part knows it, else -1. */
  maybeTerm(i: number): number {
    if (i < this.offset) {
      const s = this.snapshot;
      return s !== undefined && s.metadata.index === i ? s.metadata.term : -1;
    }
    const k = i - this.offset;
    return k < this.entries.length ? this.entries[k]!.term : -1;
  }

  hasNextEntries(): boolean {
    return this.entries.length > this.offsetInProgress - this.offset;
  }

  /** Entries not yet handed out for writing. */
  nextEntries(): Entry[] {
    const start = this.offsetInProgress - this.offset;
    return start >= this.entries.length ? [] : this.entries.slice(start);
  }

  nextSnapshot(): Snapshot | undefined {
    return this.snapshotInProgress ? undefined : this.snapshot;
  }

  /** Marks everything currently unstable as handed out for writing. */
  acceptInProgress(): void {
    if (this.entries.length > 0) this.offsetInProgress = this.offset + this.entries.length;
    if (this.snapshot !== undefined) this.snapshotInProgress = true;
  }

  /**
   * Entries up to (index, term) are durable: drop them, unless that entry has since been
   * replaced (the term no longer matches), in which case a later write will cover it.
   */
  stableTo(index: number, term: number): void {
    if (index < this.offset) return;
    const t = this.maybeTerm(index);
    if (t === -1 || t !== term) return;
    const num = index + 1 - this.offset;
    this.entries = num >= this.entries.length ? [] : this.entries.slice(num);
    this.offset = index + 1;
    if (this.offsetInProgress < this.offset) this.offsetInProgress = this.offset;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.metadata.index === index) {
      this.snapshot = undefined;
      this.snapshotInProgress = false;
    }
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.offsetInProgress = this.offset;
    this.entries = [];
    this.snapshot = s;
    this.snapshotInProgress = false;
  }

  /** Appends `ents` (contiguous, non-empty), first dropping any suffix they replace. */
  truncateAndAppend(ents: readonly Entry[]): void {
    const from = ents[0]!.index;
    const end = this.offset + this.entries.length;
    if (from === end) {
      // A bulk copy is much cheaper than pushing one by one into an empty tail.
      if (this.entries.length === 0) this.entries = ents.slice();
      else pushAll(this.entries, ents);
    } else if (from <= this.offset) {
      // Copied: the caller's array (often a message's) must never alias the log.
      this.entries = ents.slice();
      this.offset = from;
      this.offsetInProgress = from;
    } else {
      invariant(
        from < end,
        "unstable-contiguous",
        () => `append at ${from} leaves a gap after ${end - 1}`,
      );
      this.entries.length = from - this.offset;
      pushAll(this.entries, ents);
      if (this.offsetInProgress > from) this.offsetInProgress = from;
    }
  }

  /** Entries in [lo, hi), which must lie within the unstable entries, up to maxSize bytes. */
  slice(lo: number, hi: number, maxSize = Number.POSITIVE_INFINITY): Entry[] {
    invariant(
      lo >= this.offset && hi <= this.offset + this.entries.length && lo <= hi,
      "unstable-slice-bounds",
      () =>
        `[${lo}, ${hi}) outside unstable [${this.offset}, ${this.offset + this.entries.length})`,
    );
    const start = lo - this.offset;
    return this.entries.slice(start, limitEnd(this.entries, start, hi - this.offset, maxSize));
  }
}
