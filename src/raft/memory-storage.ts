// An in-memory LogStorage for tests and the simulator: what a node has made "durable".
// The entries array starts with a dummy entry standing for the last compacted (or snapshot)
// index, so term(firstIndex - 1) stays answerable after compaction.
import type { LogStorage } from "./api.js";
import { invariant, RaftError } from "./errors.js";
import {
  assertSafeIndex,
  type ConfState,
  EMPTY_BYTES,
  type Entry,
  EntryType,
  emptyHardState,
  emptySnapshot,
  type HardState,
  type Snapshot,
} from "./types.js";
import { limitEnd } from "./util.js";

export class MemoryStorage implements LogStorage {
  private hardState: HardState = emptyHardState();
  private snap: Snapshot = emptySnapshot();
  /** Set by the application as it applies conf changes; overrides the snapshot's. */
  private confState: ConfState | undefined = undefined;
  /** ents[0] is the dummy entry at the compaction point; ents[i] has index ents[0].index + i. */
  private ents: Entry[] = [{ term: 0, index: 0, type: EntryType.Normal, data: EMPTY_BYTES }];

  initialState(): { hardState: HardState; confState: ConfState } {
    const cs = this.confState ?? this.snap.metadata.confState;
    return {
      hardState: { ...this.hardState },
      confState: { voters: cs.voters.slice(), learners: cs.learners.slice() },
    };
  }

  setHardState(hs: HardState): void {
    assertSafeIndex(hs.term, "hardState.term");
    assertSafeIndex(hs.vote, "hardState.vote");
    assertSafeIndex(hs.commit, "hardState.commit");
    this.hardState = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  /**
   * Records the configuration in force at the applied index, so a restart with
   * `config.applied` sees the membership that applied conf changes produced.
   */
  setConfState(cs: ConfState): void {
    this.confState = { voters: cs.voters.slice(), learners: cs.learners.slice() };
  }

  private offset(): number {
    return this.ents[0]!.index;
  }

  firstIndex(): number {
    return this.offset() + 1;
  }

  lastIndex(): number {
    return this.offset() + this.ents.length - 1;
  }

  term(i: number): number {
    const off = this.offset();
    if (i < off)
      throw new RaftError("compacted", `term(${i}) is below the compaction point ${off}`);
    if (i - off >= this.ents.length)
      throw new RaftError("unavailable", `term(${i}) is beyond last index ${this.lastIndex()}`);
    return this.ents[i - off]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    const off = this.offset();
    if (lo <= off)
      throw new RaftError(
        "compacted",
        `entries from ${lo} were compacted (first index ${off + 1})`,
      );
    if (hi > this.lastIndex() + 1)
      throw new RaftError(
        "unavailable",
        `entries up to ${hi - 1} requested, last index ${this.lastIndex()}`,
      );
    return this.ents.slice(lo - off, limitEnd(this.ents, lo - off, hi - off, maxBytes));
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Replaces the whole log with a snapshot; refuses one older than what is held. */
  applySnapshot(snap: Snapshot): void {
    assertSafeIndex(snap.metadata.index, "snapshot index");
    assertSafeIndex(snap.metadata.term, "snapshot term");
    if (snap.metadata.index < this.snap.metadata.index || snap.metadata.index < this.offset()) {
      throw new RaftError(
        "compacted",
        `snapshot at ${snap.metadata.index} is older than the stored one at ${this.snap.metadata.index}`,
      );
    }
    this.snap = snap;
    this.confState = undefined;
    this.ents = [
      {
        term: snap.metadata.term,
        index: snap.metadata.index,
        type: EntryType.Normal,
        data: EMPTY_BYTES,
      },
    ];
  }

  /** Makes a snapshot of the state at `index` (which must be in the log) with `data`. */
  createSnapshot(index: number, cs: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new RaftError(
        "compacted",
        `snapshot at ${index} is not newer than the stored one at ${this.snap.metadata.index}`,
      );
    }
    if (index > this.lastIndex()) {
      throw new RaftError(
        "unavailable",
        `snapshot at ${index} is beyond last index ${this.lastIndex()}`,
      );
    }
    const term = this.term(index);
    this.snap = {
      data,
      metadata: {
        index,
        term,
        confState: { voters: cs.voters.slice(), learners: cs.learners.slice() },
      },
    };
    return this.snap;
  }

  /** Drops every entry up to `index`; term(index) stays known. */
  compact(index: number): void {
    const off = this.offset();
    if (index <= off)
      throw new RaftError(
        "compacted",
        `already compacted up to ${off}, cannot compact to ${index}`,
      );
    if (index > this.lastIndex())
      throw new RaftError(
        "unavailable",
        `cannot compact to ${index} beyond last index ${this.lastIndex()}`,
      );
    const k = index - off;
    const head = this.ents[k]!;
    const rest = this.ents.slice(k + 1);
    rest.unshift({ term: head.term, index: head.index, type: EntryType.Normal, data: EMPTY_BYTES });
    this.ents = rest;
  }

  /**
   * Appends entries, replacing any suffix they conflict with. Entries at or below the
   * compaction point are ignored; a gap after the last index is an error.
   */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = this.firstIndex();
    const last = entries[entries.length - 1]!.index;
    if (last < first) return;
    let start = 0;
    if (entries[0]!.index < first) start = first - entries[0]!.index;
    const from = entries[start]!.index;
    if (from > this.lastIndex() + 1) {
      throw new RaftError(
        "unavailable",
        `append at ${from} leaves a gap after last index ${this.lastIndex()}`,
      );
    }
    const off = this.offset();
    this.ents.length = from - off;
    for (let i = start; i < entries.length; i++) this.ents.push(entries[i]!);
    invariant(
      this.lastIndex() === last,
      "storage-contiguous",
      () => `appended entries are not contiguous (ended at ${this.lastIndex()}, expected ${last})`,
    );
  }
}
