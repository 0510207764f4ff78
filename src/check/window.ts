// The smallest failing window of a key's non-linearizable history, for a reader to see what
// went wrong among a handful of operations instead of twenty thousand.
//
// The end: linearizability is prefix-closed (cut a linearizable history at time T, making
// operations still running at T indeterminate, and it stays linearizable), so the earliest
// completion time T at which the cut history fails is found by bisection; the operation
// completing at T is the one no order of what came before can explain.
// The start: the latest time S such that the operations between S and T fail on their own,
// starting from an unknown state (kv-model's "?", which believes the first reply about the
// key) — a window that fails from every possible state needs nothing before it. Operations
// running at S become indeterminate (they may have taken effect before S or after). When no
// such S exists (the failure needs the key's true initial state, e.g. a read of a value
// nobody wrote), the window starts at the history's beginning.
import type { CheckedOp } from "./checked-op.js";
import { kvModel, UNKNOWN } from "./kv-model.js";
import { searchLinearization } from "./search.js";

export interface FailingWindow {
  /** The window's operations in invocation order, as the search saw them. */
  ops: CheckedOp[];
  /** True when the window fails from any state of the key, false when from the initial one. */
  fromAnyState: boolean;
  /** The operation whose completion ends the window: it cannot be linearized. */
  culprit: CheckedOp | undefined;
  /** The window's first invocation and the culprit's completion (history clock). */
  start: number;
  end: number;
}

export function smallestFailingWindow(ops: readonly CheckedOp[], maxSteps: number): FailingWindow {
  const ends = [
    ...new Set(ops.filter((o) => o.complete !== Number.POSITIVE_INFINITY).map((o) => o.complete)),
  ].sort((a, b) => a - b);
  // A search that gives up counts as passing: the window only grows.
  const fails = (window: CheckedOp[], initial?: string): boolean =>
    searchLinearization(kvModel, window, { initial, cache: "exact", maxSteps }).linearizable ===
    false;
  // Bisection for the first end that fails; the whole history fails (the caller knows).
  let lo = 0;
  let hi = ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (fails(cutAt(ops, ends[mid] as number))) hi = mid;
    else lo = mid + 1;
  }
  const end = ends[lo] as number;
  const prefix = cutAt(ops, end);
  const culprit = prefix.find((o) => o.complete === end && o.source.complete === end);
  const starts = [...new Set(prefix.map((o) => o.invoke))].sort((a, b) => a - b);
  if (starts.length === 0 || !fails(startAt(prefix, starts[0] as number), UNKNOWN))
    return { ops: prefix, fromAnyState: false, culprit, start: starts[0] ?? end, end };
  // Bisection for the last start that still fails from an unknown state.
  lo = 0;
  hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (fails(startAt(prefix, starts[mid] as number), UNKNOWN)) lo = mid;
    else hi = mid - 1;
  }
  const start = starts[lo] as number;
  return { ops: startAt(prefix, start), fromAnyState: true, culprit, start, end };
}

/** The history as seen at time `end`: later invocations gone, operations still running indeterminate. */
function cutAt(ops: readonly CheckedOp[], end: number): CheckedOp[] {
  const out: CheckedOp[] = [];
  for (const o of ops) {
    if (o.invoke > end) continue;
    if (o.complete <= end) out.push(o);
    else if (o.input.f !== "get") out.push(indeterminate(o));
  }
  return out;
}

function indeterminate(o: CheckedOp): CheckedOp {
  return {
    ...o,
    output: undefined,
    complete: Number.POSITIVE_INFINITY,
    inputClass: JSON.stringify(o.input),
  };
}

/** The operations from time `start` on; those running at `start` may have taken effect on either side. */
function startAt(ops: readonly CheckedOp[], start: number): CheckedOp[] {
  const out: CheckedOp[] = [];
  for (const o of ops) {
    if (o.invoke >= start) out.push(o);
    else if (o.complete >= start && o.input.f !== "get") out.push(indeterminate(o));
  }
  return out;
}
