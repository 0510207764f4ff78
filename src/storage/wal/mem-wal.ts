// The in-memory log: no I/O, optionally a simulated sync delay (`--disk-delay 5ms`, the
// `--wal-delay` of the Go rafttoy) so a pipeline can be measured against a disk of known
// latency. Each synced append resolves that long after it was made, on a timer.
import { RaftError } from "../../raft/errors.js";
import type { Entry } from "../../raft/types.js";
import { InvariantViolation, invariant, WalError } from "../errors.js";
import type { AppendOptions, Wal } from "./wal.js";

export interface MemWalOptions {
  /** A synced append resolves this many milliseconds after it was made; 0 = at once. */
  syncDelayMs?: number;
}

export class MemWal implements Wal {
  readonly kind = "mem";
  readonly syncMode: string;

  /** Entries [first, first + items.length - head), stored from items[head]. */
  private items: Entry[] = [];
  private head = 0;
  private first = 1;
  private prevTerm = 0;
  private closed = false;
  private readonly syncDelayMs: number;

  constructor(opts: MemWalOptions = {}) {
    const delay = opts.syncDelayMs ?? 0;
    if (!Number.isFinite(delay) || delay < 0) {
      throw new RangeError(`mem wal: syncDelayMs must be a non-negative number, got ${delay}`);
    }
    this.syncDelayMs = delay;
    this.syncMode = delay > 0 ? `none (memory), simulated sync delay ${delay} ms` : "none (memory)";
  }

  firstIndex(): number {
    this.checkOpen();
    return this.first;
  }

  lastIndex(): number {
    this.checkOpen();
    return this.first + this.items.length - this.head - 1;
  }

  term(i: number): number {
    const last = this.lastIndex();
    if (i < this.first - 1)
      throw new RaftError("compacted", `term(${i}): log starts at ${this.first}`);
    if (i > last) throw new RaftError("unavailable", `term(${i}): last index is ${last}`);
    return i === this.first - 1 ? this.prevTerm : this.at(i).term;
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    const last = this.lastIndex();
    invariant(lo <= hi, "entries-range", () => `wal entries: lo ${lo} is above hi ${hi}`);
    if (lo < this.first)
      throw new RaftError("compacted", `entries from ${lo}: log starts at ${this.first}`);
    if (hi > last + 1)
      throw new RaftError("unavailable", `entries to ${hi}: last index is ${last}`);
    if (lo === hi) return [];
    const out = [this.at(lo)];
    let bytes = out[0]!.data.byteLength;
    for (let i = lo + 1; i < hi; i++) {
      const e = this.at(i);
      bytes += e.data.byteLength;
      if (bytes > maxBytes) break;
      out.push(e);
    }
    return out;
  }

  async append(entries: readonly Entry[], opts: AppendOptions): Promise<void> {
    const last = this.lastIndex();
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    for (let k = 1; k < entries.length; k++) {
      if (entries[k]!.index !== first + k) {
        throw new InvariantViolation(
          "storage",
          "append-consecutive",
          `wal append: entry indexes must be consecutive, got ${entries[k]!.index} after ${first + k - 1}`,
        );
      }
    }
    invariant(
      first <= last + 1,
      "append-no-gap",
      () => `wal append: first index ${first} leaves a gap after last index ${last}`,
    );
    if (first < this.first)
      throw new RaftError("compacted", `append at ${first}: log starts at ${this.first}`);
    this.items.length = this.head + (first - this.first);
    // The caller's own objects, as the Wal contract allows: a copy per entry was one more
    // object per entry living until compaction, which every young-generation GC copied.
    const items = this.items;
    for (let k = 0; k < entries.length; k++) items.push(entries[k]!);
    if (opts.sync && this.syncDelayMs > 0) {
      await new Promise<void>((resolve) => setTimeout(resolve, this.syncDelayMs));
    }
  }

  async compact(upTo: number): Promise<void> {
    const last = this.lastIndex();
    if (upTo < this.first) return;
    if (upTo > last) throw new RaftError("unavailable", `compact(${upTo}): last index is ${last}`);
    this.prevTerm = this.at(upTo).term;
    this.head += upTo - this.first + 1;
    this.first = upTo + 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  async reset(after?: { index: number; term: number }): Promise<void> {
    this.checkOpen();
    this.items = [];
    this.head = 0;
    this.first = (after?.index ?? 0) + 1;
    this.prevTerm = after?.term ?? 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.items = [];
  }

  private at(i: number): Entry {
    return this.items[this.head + i - this.first]!;
  }

  private checkOpen(): void {
    if (this.closed) throw new WalError("closed", "wal: the log is closed");
  }
}
