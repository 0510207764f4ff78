// The flow-control window of one follower in replicate state: a ring buffer of the last
// index (and byte size) of each MsgApp sent and not yet acknowledged.
import { invariant } from "./errors.js";

export class Inflights {
  private readonly indexes: Float64Array;
  private readonly sizes: Float64Array;
  private start = 0;
  private count = 0;
  private bytes = 0;

  constructor(
    private readonly maxMsgs: number,
    /** 0 means no byte limit. */
    private readonly maxBytes: number,
  ) {
    this.indexes = new Float64Array(maxMsgs);
    this.sizes = new Float64Array(maxMsgs);
  }

  /** Records a MsgApp whose last entry is `index` carrying `bytes` of payload. */
  add(index: number, bytes: number): void {
    invariant(!this.full(), "inflights-not-full", () => `adding ${index} to a full window`);
    let slot = this.start + this.count;
    if (slot >= this.maxMsgs) slot -= this.maxMsgs;
    this.indexes[slot] = index;
    this.sizes[slot] = bytes;
    this.count++;
    this.bytes += bytes;
  }

  /** Frees every message whose last index is <= `to` (acknowledged). */
  freeLE(to: number): void {
    while (this.count > 0 && this.indexes[this.start]! <= to) {
      this.bytes -= this.sizes[this.start]!;
      this.start++;
      if (this.start === this.maxMsgs) this.start = 0;
      this.count--;
    }
    if (this.count === 0) this.start = 0;
  }

  full(): boolean {
    return this.count === this.maxMsgs || (this.maxBytes !== 0 && this.bytes >= this.maxBytes);
  }

  get length(): number {
    return this.count;
  }

  get inflightBytes(): number {
    return this.bytes;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.bytes = 0;
  }
}
