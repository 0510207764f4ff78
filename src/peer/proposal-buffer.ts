// Collects concurrent proposals between two turns of the peer loop, so that each turn
// proposes them all as one batch (one MsgProp). Bounded: when full, propose() waits for the
// loop to take the buffer before adding to it, which holds the proposers back.
import type { Clock } from "./clock.js";
import { ProposalError, type Reject, type Resolve } from "./proposal-tracker.js";

/** How a proposeBatch ends: the positions refused (none: all handed over), and why. */
export type BatchSettled = (refused: readonly number[], err: Error | undefined) => void;

export interface TakenProposals {
  datas: Uint8Array[];
  resolves: Resolve[];
  rejects: Reject[];
  /** The clock's time at propose(), when latency is measured; otherwise empty. */
  startMs: number[];
}

export class ProposalBuffer {
  private datas: Uint8Array[] = [];
  private resolves: Resolve[] = [];
  private rejects: Reject[] = [];
  private startMs: number[] = [];
  private roomWaiters: (() => void)[] = [];
  private closedReason: string | undefined;

  constructor(
    private readonly capacity: number,
    /** Called when the buffer goes from empty to non-empty: wake the loop. */
    private readonly onFirst: () => void,
    /** Stamps each proposal with this clock's time, so its latency can be measured. */
    private readonly latencyClock: Clock | undefined,
  ) {
    if (!(capacity >= 1)) throw new RangeError(`proposal buffer capacity must be >= 1`);
  }

  get length(): number {
    return this.datas.length;
  }

  propose(data: Uint8Array): Promise<void> {
    if (this.closedReason !== undefined) {
      return Promise.reject(new ProposalError(this.closedReason));
    }
    if (this.datas.length >= this.capacity) {
      return new Promise<void>((resolve) => this.roomWaiters.push(resolve)).then(() =>
        this.propose(data),
      );
    }
    return new Promise<void>((resolve, reject) =>
      this.add(data, resolve, reject, this.latencyClock?.now()),
    );
  }

  /** Buffers one proposal; the first one in an empty buffer wakes the loop. */
  private add(data: Uint8Array, resolve: Resolve, reject: Reject, stamp: number | undefined): void {
    if (this.datas.length === 0) this.onFirst();
    this.datas.push(data);
    this.resolves.push(resolve);
    this.rejects.push(reject);
    if (stamp !== undefined) this.startMs.push(stamp);
  }

  /**
   * Adds `datas` as one hand-over without a promise per proposal: `settled` is called once,
   * when every one of them has been taken and handed over or refused, with the positions
   * refused (empty: all handed over) and the last refusal. A batch is let in whole while the
   * buffer is below capacity (it may overshoot by one batch); otherwise it waits for room.
   */
  proposeBatch(datas: readonly Uint8Array[], settled: BatchSettled): void {
    if (this.closedReason !== undefined) {
      settled(
        datas.map((_, i) => i),
        new ProposalError(this.closedReason),
      );
      return;
    }
    if (datas.length === 0) {
      settled([], undefined);
      return;
    }
    if (this.datas.length >= this.capacity) {
      this.roomWaiters.push(() => this.proposeBatch(datas, settled));
      return;
    }
    // Taken proposals are handed over or refused oldest first (take, rejectAll and the
    // callers of a taken set all go in order), so the k-th call is about datas[k].
    let seen = 0;
    const refused: number[] = [];
    let lastError: Error | undefined;
    const resolve: Resolve = () => {
      if (++seen === datas.length) settled(refused, lastError);
    };
    const reject: Reject = (err) => {
      refused.push(seen);
      lastError = err;
      if (++seen === datas.length) settled(refused, lastError);
    };
    const stamp = this.latencyClock?.now();
    for (let i = 0; i < datas.length; i++) this.add(datas[i]!, resolve, reject, stamp);
  }

  /** Takes up to `max` buffered proposals, oldest first, and lets waiting proposers in. */
  take(max: number): TakenProposals {
    let taken: TakenProposals;
    if (this.datas.length <= max) {
      taken = {
        datas: this.datas,
        resolves: this.resolves,
        rejects: this.rejects,
        startMs: this.startMs,
      };
      this.datas = [];
      this.resolves = [];
      this.rejects = [];
      this.startMs = [];
    } else {
      taken = {
        datas: this.datas.splice(0, max),
        resolves: this.resolves.splice(0, max),
        rejects: this.rejects.splice(0, max),
        startMs: this.latencyClock !== undefined ? this.startMs.splice(0, max) : [],
      };
    }
    if (this.roomWaiters.length > 0) {
      const waiters = this.roomWaiters;
      this.roomWaiters = [];
      for (const w of waiters) w();
    }
    return taken;
  }

  /** Rejects everything buffered; with `close`, every later propose() is rejected too. */
  rejectAll(reason: string, close = false): void {
    if (close) this.closedReason = reason;
    const { rejects } = this.take(Number.MAX_SAFE_INTEGER);
    if (rejects.length > 0) {
      const err = new ProposalError(reason);
      for (const r of rejects) r(err);
    }
  }
}

/** Rejects every proposal of a taken batch with `err`. */
export function rejectTaken(taken: TakenProposals, err: Error): void {
  for (const r of taken.rejects) r(err);
}
