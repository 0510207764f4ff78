// The linearizability search for one partition of a history (one key): Wing & Gong's
// backtracking over the order of operations, with Lowe's improvements — operations are
// linearized "just in time" (a call is tried only while no return is pending before it, so
// the search walks the history's events in time order), and every configuration reached
// (which operations are linearized + the model's state) is remembered, so a configuration
// already explored from another order is never explored again.
//
// Events sit in a doubly linked list in time order; linearizing an operation unlinks its
// call and its return, backtracking links them back (in the reverse order), so both are O(1).
import type { Model } from "./model.js";

/** An operation as the search sees it: indeterminate ones have output undefined and complete Infinity. */
export interface SearchOp<Input, Output> {
  input: Input;
  /**
   * Indeterminate operations with equal inputs are interchangeable once invoked (no reply
   * to match, no return to wait for): the search counts how many of each class it
   * linearized instead of which, or a counter with thirty pending increments would have
   * 2^30 configurations. Any string naming the input; ignored for completed operations.
   */
  inputClass?: string;
  output: Output | undefined;
  invoke: number;
  complete: number;
}

export interface SearchOptions {
  /** The model state before the first operation (the model's initial state by default). */
  initial?: string;
  /**
   * How configurations are remembered: "hashed" (the default) keys them by two 32-bit
   * Zobrist hashes of the linearized set and the state — O(1) per step, but two different
   * sets could share a hash, and a false hit prunes a branch that might have succeeded, so
   * a "hashed" failure is confirmed by an "exact" search (check.ts does). "exact" keys
   * them by the set itself, written out from the unlinearized operations below the highest
   * linearized one — exact, at a cost that grows with the number of open operations.
   */
  cache?: "hashed" | "exact";
  /** Give up after this many configurations (the verdict is then undefined). */
  maxSteps?: number;
}

export interface SearchResult {
  /** undefined: gave up at maxSteps. */
  linearizable: boolean | undefined;
  /** Configurations explored: the work the search did. */
  steps: number;
}

export function searchLinearization<Input, Output>(
  model: Model<Input, Output>,
  ops: readonly SearchOp<Input, Output>[],
  options: SearchOptions = {},
): SearchResult {
  const n = ops.length;
  if (n === 0) return { linearizable: true, steps: 0 };
  const maxSteps = options.maxSteps ?? Number.POSITIVE_INFINITY;
  const events = new EventList(ops);
  const head = events.head;
  const next = events.next;
  const classes = new OpClasses(ops);
  const exact = options.cache === "exact";
  const zobrist = exact ? undefined : new Zobrist(n);
  const seen = new Set<string>();

  // The stack of linearized operations: the call event, and what it replaced.
  const stackEvent = new Int32Array(n);
  const stackState: string[] = new Array<string>(n);
  const stackHigh = new Int32Array(n);
  const stackWalk = new Int32Array(n);
  let depth = 0;
  // Each walk from the head has an id; a class tried in the current walk is not tried again
  // in it (its other members are interchangeable). Only saves work: the cache would prune
  // the repeat anyway, after the cost of a step and a key.
  const triedInWalk = new Int32Array(classes.count.length).fill(-1);
  let walk = 0;
  let walks = 0;
  let state = options.initial ?? model.initial;
  // Two independent 32-bit hashes of the linearized set (XOR of per-operation values).
  let h1 = 0;
  let h2 = 0;
  // One past the highest linearized completed operation (operations are numbered by invocation).
  let high = 0;
  let steps = 0;

  // Each walk makes two passes over the calls before the first pending return: completed
  // operations first, then indeterminate ones. Both orders explore the same candidates;
  // trying indeterminate ones only when completed ones are stuck keeps the search from
  // building a chain of every pending increment at every point of a counter's history.
  let pass = 0;
  const stackPass = new Uint8Array(n);
  let entry = next[head] as number;
  for (;;) {
    if (entry === events.tail || events.isCall[entry] === 0) {
      if (entry === events.tail) return { linearizable: true, steps };
      const pendingOp = events.op[entry] as number;
      // Past the last finite return only indeterminate operations are left, and they may
      // never take effect: done.
      if ((ops[pendingOp] as SearchOp<Input, Output>).complete === Number.POSITIVE_INFINITY)
        return { linearizable: true, steps };
      if (pass === 0) {
        pass = 1;
        entry = next[head] as number;
        continue;
      }
      // Every candidate before this return was tried: backtrack.
      if (depth === 0) return { linearizable: false, steps };
      depth--;
      const call = stackEvent[depth] as number;
      const undone = events.op[call] as number;
      const undoneClass = classes.of[undone] as number;
      if (undoneClass >= 0) classes.count[undoneClass] = (classes.count[undoneClass] as number) - 1;
      if (zobrist !== undefined) {
        const w =
          undoneClass < 0
            ? 2 * undone
            : zobrist.classSlot(undoneClass, classes.count[undoneClass] as number);
        h1 ^= zobrist.word(w);
        h2 ^= zobrist.word(w + 1);
      }
      state = stackState[depth] as string;
      high = stackHigh[depth] as number;
      walk = stackWalk[depth] as number;
      pass = stackPass[depth] as number;
      events.unlift(call);
      entry = next[call] as number;
      continue;
    }
    const op = events.op[entry] as number;
    const cls = classes.of[op] as number;
    if ((pass === 0) !== cls < 0) {
      entry = next[entry] as number;
      continue;
    }
    if (cls >= 0) {
      if (triedInWalk[cls] === walk) {
        entry = next[entry] as number;
        continue;
      }
      triedInWalk[cls] = walk;
    }
    const o = ops[op] as SearchOp<Input, Output>;
    const after = model.step(state, o.input, o.output);
    // An indeterminate operation that changes nothing here is not worth linearizing here:
    // the configuration with it still pending has the same state and more choices left.
    if (after !== undefined && !(cls >= 0 && after === state)) {
      const newHigh = cls < 0 && op + 1 > high ? op + 1 : high;
      const w =
        zobrist === undefined
          ? 0
          : cls < 0
            ? 2 * op
            : zobrist.classSlot(cls, classes.count[cls] as number);
      const key =
        zobrist !== undefined
          ? `${(h1 ^ zobrist.word(w)) >>> 0}.${(h2 ^ zobrist.word(w + 1)) >>> 0}.${after}`
          : `${events.openBelow(newHigh, op, classes)}|${classes.describe(cls)}|${after}`;
      if (!seen.has(key)) {
        if (steps >= maxSteps) return { linearizable: undefined, steps };
        seen.add(key);
        steps++;
        stackEvent[depth] = entry;
        stackState[depth] = state;
        stackHigh[depth] = high;
        stackWalk[depth] = walk;
        stackPass[depth] = pass;
        depth++;
        walk = ++walks;
        pass = 0;
        if (zobrist !== undefined) {
          h1 ^= zobrist.word(w);
          h2 ^= zobrist.word(w + 1);
        }
        if (cls >= 0) classes.count[cls] = (classes.count[cls] as number) + 1;
        state = after;
        high = newHigh;
        events.lift(entry);
        entry = next[head] as number;
        continue;
      }
    }
    entry = next[entry] as number;
  }
}

/** Indeterminate operations grouped by input class, and how many of each class are linearized. */
class OpClasses {
  /** Per operation: its class, or -1 for a completed operation (identified by itself). */
  readonly of: Int32Array;
  readonly count: Int32Array;
  constructor(ops: readonly SearchOp<unknown, unknown>[]) {
    this.of = new Int32Array(ops.length).fill(-1);
    const ids = new Map<string, number>();
    ops.forEach((o, i) => {
      if (o.complete !== Number.POSITIVE_INFINITY) return;
      const name = o.inputClass ?? `#${i}`;
      let id = ids.get(name);
      if (id === undefined) {
        id = ids.size;
        ids.set(name, id);
      }
      this.of[i] = id;
    });
    this.count = new Int32Array(ids.size);
  }

  /** The linearized counts, exactly, with one more of class `adding` (when ≥ 0). */
  describe(adding: number): string {
    let out = "";
    for (let c = 0; c < this.count.length; c++) {
      const k = (this.count[c] as number) + (c === adding ? 1 : 0);
      if (k > 0) out += `${c}:${k},`;
    }
    return out;
  }
}

/** Calls and returns of every operation in time order, as a doubly linked list over arrays. */
class EventList {
  readonly head: number;
  readonly tail: number;
  /** Per event: its operation, and 1 for a call, 0 for a return. */
  readonly op: Int32Array;
  readonly isCall: Uint8Array;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** Per operation: its return event. */
  private readonly returnOf: Int32Array;

  constructor(ops: readonly { invoke: number; complete: number }[]) {
    const n = ops.length;
    const count = 2 * n;
    this.head = count;
    this.tail = count + 1;
    this.op = new Int32Array(count);
    this.isCall = new Uint8Array(count);
    this.next = new Int32Array(count + 2);
    this.prev = new Int32Array(count + 2);
    this.returnOf = new Int32Array(n);
    const order: { time: number; call: number; op: number }[] = [];
    ops.forEach((o, i) => {
      order.push({ time: o.invoke, call: 1, op: i });
      order.push({ time: o.complete, call: 0, op: i });
    });
    // Equal times: calls first, so operations that touch at an instant count as
    // concurrent (the permissive reading of a clock's resolution).
    order.sort((a, b) => a.time - b.time || b.call - a.call || a.op - b.op);
    let prev = this.head;
    order.forEach((e, i) => {
      this.op[i] = e.op;
      this.isCall[i] = e.call;
      if (e.call === 0) this.returnOf[e.op] = i;
      this.next[prev] = i;
      this.prev[i] = prev;
      prev = i;
    });
    this.next[prev] = this.tail;
    this.prev[this.tail] = prev;
  }

  /** Unlinks a call and its return. */
  lift(call: number): void {
    this.unlink(call);
    this.unlink(this.returnOf[this.op[call] as number] as number);
  }

  /** Links back what lift(call) unlinked, in the reverse order. */
  unlift(call: number): void {
    this.relink(this.returnOf[this.op[call] as number] as number);
    this.relink(call);
  }

  /**
   * The linearized completed operations, written exactly: `high` and the completed
   * operations below it that are still in the list (not linearized), with `adding` counted
   * as linearized (indeterminate ones are counted per class instead). Calls sit in the
   * list in invocation order, so the walk stops at the first call at or above `high`.
   */
  openBelow(high: number, adding: number, classes: OpClasses): string {
    let out = `${high}`;
    for (let e = this.next[this.head] as number; e !== this.tail; e = this.next[e] as number) {
      if (this.isCall[e] !== 1) continue;
      const op = this.op[e] as number;
      if ((classes.of[op] as number) >= 0) continue;
      if (op >= high) break;
      if (op !== adding) out += `,${op}`;
    }
    return out;
  }

  private unlink(e: number): void {
    const p = this.prev[e] as number;
    const x = this.next[e] as number;
    this.next[p] = x;
    this.prev[x] = p;
  }

  private relink(e: number): void {
    this.next[this.prev[e] as number] = e;
    this.prev[this.next[e] as number] = e;
  }
}

/**
 * Pseudo-random 32-bit words, the same for every run (a fixed seed): words 2i, 2i+1 for
 * completed operation i; for an indeterminate class, a pair per count, drawn on first use.
 */
class Zobrist {
  private words: Int32Array;
  private used: number;
  private seed = 0x9e3779b9;
  private readonly classSlots = new Map<number, number[]>();

  constructor(n: number) {
    this.words = new Int32Array(4 * n + 2);
    this.used = 0;
    this.fill(2 * n);
  }

  word(i: number): number {
    return this.words[i] as number;
  }

  /** Where the pair for "the (k+1)-th linearized operation of class c" starts. */
  classSlot(c: number, k: number): number {
    let slots = this.classSlots.get(c);
    if (slots === undefined) {
      slots = [];
      this.classSlots.set(c, slots);
    }
    while (slots.length <= k) {
      slots.push(this.used);
      this.fill(2);
    }
    return slots[k] as number;
  }

  private fill(count: number): void {
    if (this.used + count > this.words.length) {
      const bigger = new Int32Array(2 * (this.used + count));
      bigger.set(this.words);
      this.words = bigger;
    }
    for (let i = 0; i < count; i++) {
      // mulberry32
      this.seed = (this.seed + 0x6d2b79f5) | 0;
      let t = this.seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      this.words[this.used++] = t ^ (t >>> 14);
    }
  }
}
