// Tracks proposals the leader appended until they are acknowledged.
//
// A proposal is identified by the log index the leader gave it (and the term it was appended
// in), not by an id inside the payload: the index is known the moment the batch is appended,
// costs nothing to read back from a committed entry, and needs no decoding of the payload.
// Indexes only grow while one leader term lasts and entries commit in index order, so the
// tracked proposals form a FIFO: a ring buffer of parallel arrays, O(1) per proposal, with no
// per-proposal Map entry or closure beyond the promise's own resolve/reject pair.
import { RafttoyError } from "../errors/errors.js";
import type { Entry } from "../raft/types.js";

export type Resolve = () => void;
export type Reject = (err: Error) => void;

export type ProposalErrorCode =
  /** This node is not the leader (or stopped leading before the proposal was appended). */
  | "not-leader"
  /** Appended, but its entry was gone or overwritten when its index committed. */
  | "lost"
  /** Rejected for a reason its caller names: an epoch reset, a stop, the core refusing it. */
  | "rejected";

/** Why a proposal's promise was rejected; `reason` is short and stable (benchmarks count it). */
export class ProposalError extends RafttoyError<ProposalErrorCode> {
  constructor(
    readonly reason: string,
    code: ProposalErrorCode = "rejected",
  ) {
    super(code, `proposal failed: ${reason}`);
  }
}

export class ProposalTracker {
  private capacity: number;
  private head = 0;
  private count = 0;
  private indexes: Float64Array;
  private terms: Float64Array;
  private startNs: Float64Array;
  private resolves: (Resolve | undefined)[];
  private rejects: (Reject | undefined)[];

  /** `onAck(startMs)` runs for each resolved proposal that was tracked with a start time. */
  constructor(
    initialCapacity = 1024,
    private readonly onAck?: (startMs: number) => void,
  ) {
    this.capacity = Math.max(16, 1 << Math.ceil(Math.log2(initialCapacity)));
    this.indexes = new Float64Array(this.capacity);
    this.terms = new Float64Array(this.capacity);
    this.startNs = new Float64Array(this.capacity);
    this.resolves = new Array(this.capacity).fill(undefined);
    this.rejects = new Array(this.capacity).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  /** Tracks the proposal appended at `index` in `term`; indexes must grow. */
  track(index: number, term: number, resolve: Resolve, reject: Reject, startMs = 0): void {
    if (this.count === this.capacity) this.grow();
    const slot = (this.head + this.count) & (this.capacity - 1);
    this.indexes[slot] = index;
    this.terms[slot] = term;
    this.startNs[slot] = startMs;
    this.resolves[slot] = resolve;
    this.rejects[slot] = reject;
    this.count++;
  }

  /**
   * Settles every tracked proposal at or below the last of `committed` (entries in index
   * order): resolved if the committed entry at its index has the term it was appended in,
   * rejected otherwise (a later leader overwrote it).
   */
  ack(committed: readonly Entry[]): void {
    if (this.count === 0 || committed.length === 0) return;
    const first = committed[0]!.index;
    const last = committed[committed.length - 1]!.index;
    const mask = this.capacity - 1;
    const onAck = this.onAck;
    while (this.count > 0) {
      const slot = this.head;
      const index = this.indexes[slot]!;
      if (index > last) break;
      const resolve = this.resolves[slot]!;
      const reject = this.rejects[slot]!;
      const startMs = this.startNs[slot]!;
      this.resolves[slot] = undefined;
      this.rejects[slot] = undefined;
      this.head = (slot + 1) & mask;
      this.count--;
      const entry = index >= first ? committed[index - first] : undefined;
      if (entry !== undefined && entry.term === this.terms[slot]) {
        resolve();
        if (onAck !== undefined && startMs !== 0) onAck(startMs);
      } else {
        reject(new ProposalError(entry === undefined ? "outcome unknown" : "overwritten", "lost"));
      }
    }
  }

  /** Rejects every tracked proposal (leadership lost, epoch reset, stop). */
  rejectAll(reason: string): void {
    if (this.count === 0) return;
    const err = new ProposalError(reason);
    const mask = this.capacity - 1;
    while (this.count > 0) {
      const slot = this.head;
      const reject = this.rejects[slot]!;
      this.resolves[slot] = undefined;
      this.rejects[slot] = undefined;
      this.head = (slot + 1) & mask;
      this.count--;
      reject(err);
    }
  }

  private grow(): void {
    const cap = this.capacity * 2;
    const indexes = new Float64Array(cap);
    const terms = new Float64Array(cap);
    const startNs = new Float64Array(cap);
    const resolves: (Resolve | undefined)[] = new Array(cap).fill(undefined);
    const rejects: (Reject | undefined)[] = new Array(cap).fill(undefined);
    const mask = this.capacity - 1;
    for (let i = 0; i < this.count; i++) {
      const from = (this.head + i) & mask;
      indexes[i] = this.indexes[from]!;
      terms[i] = this.terms[from]!;
      startNs[i] = this.startNs[from]!;
      resolves[i] = this.resolves[from];
      rejects[i] = this.rejects[from];
    }
    this.capacity = cap;
    this.head = 0;
    this.indexes = indexes;
    this.terms = terms;
    this.startNs = startNs;
    this.resolves = resolves;
    this.rejects = rejects;
  }
}
