// Checking a whole history: split per key (single-key operations on different keys commute,
// so a history is linearizable exactly when each key's sub-history is — the partitioning
// Porcupine does), prepare each key's operations for the search, search, and for a key that
// fails, confirm with the exact cache and find the smallest failing window.

import type { CheckedOp } from "./checked-op.js";
import type { Operation } from "./history.js";
import { kvModel } from "./kv-model.js";
import { searchLinearization } from "./search.js";
import { type FailingWindow, smallestFailingWindow } from "./window.js";

/** "unknown": the confirming search gave up at maxSteps. */
export type Verdict = "linearizable" | "violation" | "unknown";

/** Configurations the confirming (exact) search may explore per key before it gives up. */
export const DEFAULT_MAX_STEPS = 5_000_000;

export interface KeyVerdict {
  key: string;
  /** Operations the search considered (after failed ones and unobservable ones were dropped). */
  searched: number;
  verdict: Verdict;
  steps: number;
}

export type { CheckedOp };

export interface CheckResult {
  verdict: Verdict;
  /** verdict === "linearizable". */
  linearizable: boolean;
  counts: { ok: number; fail: number; info: number };
  keys: KeyVerdict[];
  /** One per key that is not linearizable, with the smallest window that shows it. */
  violations: { key: string; window: FailingWindow }[];
}

export interface CheckOptions {
  /** Skip the search for the smallest failing window (it costs about 30 more searches). */
  noWindow?: boolean;
  /** Configurations a confirming search may explore per key (DEFAULT_MAX_STEPS). */
  maxSteps?: number;
}

export function checkHistory(
  history: readonly Operation[],
  options: CheckOptions = {},
): CheckResult {
  const counts = { ok: 0, fail: 0, info: 0 };
  const byKey = new Map<string, Operation[]>();
  for (const op of history) {
    counts[op.status]++;
    let ops = byKey.get(op.key);
    if (ops === undefined) {
      ops = [];
      byKey.set(op.key, ops);
    }
    ops.push(op);
  }
  const keys: KeyVerdict[] = [];
  const violations: CheckResult["violations"] = [];
  for (const [key, ops] of [...byKey].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const prepared = prepareKey(ops);
    const searched = prepared.length;
    const first = searchLinearization(kvModel, prepared);
    let verdict: Verdict = first.linearizable === true ? "linearizable" : "unknown";
    let steps = first.steps;
    if (verdict !== "linearizable") {
      // The hashed cache could (very rarely) prune a branch wrongly: confirm exactly.
      const exact = searchLinearization(kvModel, prepared, {
        cache: "exact",
        maxSteps: options.maxSteps ?? DEFAULT_MAX_STEPS,
      });
      steps += exact.steps;
      verdict =
        exact.linearizable === undefined
          ? "unknown"
          : exact.linearizable
            ? "linearizable"
            : "violation";
    }
    keys.push({ key, searched, verdict, steps });
    if (verdict === "violation") {
      violations.push({
        key,
        window: options.noWindow
          ? {
              ops: prepared,
              fromAnyState: false,
              culprit: undefined,
              start: -Infinity,
              end: Infinity,
            }
          : smallestFailingWindow(prepared, options.maxSteps ?? DEFAULT_MAX_STEPS),
      });
    }
  }
  const unknown = keys.filter((k) => k.verdict === "unknown").length;
  return {
    verdict: violations.length > 0 ? "violation" : unknown > 0 ? "unknown" : "linearizable",
    linearizable: violations.length === 0 && unknown === 0,
    counts,
    keys,
    violations,
  };
}

/** The value an unobserved indeterminate write is relabelled to (no reply can carry it). */
export const UNOBSERVED = "\u0000unobserved";

/**
 * One key's operations for the search, in invocation order:
 * - failed operations are dropped (they did not take effect);
 * - indeterminate ones complete at +∞ with an unknown reply, and an indeterminate read is
 *   dropped (it changes nothing and told nobody anything);
 * - on a key with only pushes and pops whose pushes' lengths were not recorded, an
 *   indeterminate push whose item no pop returned is dropped (see pureQueue);
 * - an indeterminate SET or PUSH of a value nothing else writes, which a read or pop
 *   returned, took effect before the first such read or pop completed: it completes then
 *   (with an unknown reply). Left pending until +∞ it would be tried at every later point,
 *   and its place found only by backtracking from the read, across everything between;
 * - an indeterminate pop cannot have taken an item pushed once that an acknowledged pop
 *   returned (KvInput's `taken`); without this a search that guesses an indeterminate pop
 *   took such an item only learns otherwise when that pop comes, far later;
 * - an indeterminate SET or PUSH whose value no read or pop returned writes UNOBSERVED
 *   instead. Values are opaque to every command but INCR (which reads them as integers, so
 *   on a key with INCR an integer value counts as observed) and equality with a reply, so
 *   the relabelled history is linearizable exactly when the original is; and the relabelled
 *   writes become interchangeable (one class in search.ts), which they must be for the
 *   search to stay small: a faulty run leaves many writes that timed out and never applied,
 *   and each distinct pending write would double the configurations a failing search visits.
 */
export function prepareKey(ops: readonly Operation[]): CheckedOp[] {
  const live = ops.filter(
    (op) => op.status !== "fail" && !(op.status === "info" && op.input.f === "get"),
  );
  // Per value read back: the earliest completion of a read or pop that returned it.
  const observed = new Map<string, number>();
  const writers = new Map<string, number>();
  let counted = false;
  for (const op of live) {
    if (op.input.f === "incr") counted = true;
    if (op.input.f === "set" || op.input.f === "push")
      writers.set(op.input.value, (writers.get(op.input.value) ?? 0) + 1);
    if (
      op.status === "ok" &&
      (op.input.f === "get" || op.input.f === "pop") &&
      typeof op.output === "string"
    )
      observed.set(
        op.output,
        Math.min(observed.get(op.output) ?? Number.POSITIVE_INFINITY, op.complete),
      );
  }
  const taken = new Set<string>();
  for (const op of live)
    if (
      op.status === "ok" &&
      op.input.f === "pop" &&
      typeof op.output === "string" &&
      writers.get(op.output) === 1
    )
      taken.add(op.output);
  const unobserved = (value: string) =>
    !observed.has(value) && !(counted && /^-?[0-9]+$/.test(value));
  // A pure queue (only pushes and pops, no push's length recorded): an unobserved
  // indeterminate push can be left out altogether — if it took effect, an indeterminate
  // pop took its item (nothing else could), and both may as well never have happened.
  const pureQueue = live.every(
    (op) =>
      op.input.f === "pop" ||
      (op.input.f === "push" && (op.status !== "ok" || op.output === undefined)),
  );
  return live
    .filter(
      (op) =>
        !(pureQueue && op.status === "info" && op.input.f === "push" && unobserved(op.input.value)),
    )
    .slice()
    .sort((a, b) => a.invoke - b.invoke || a.id - b.id)
    .map((op) => {
      let input = op.input;
      if (
        op.status === "info" &&
        (input.f === "set" || input.f === "push") &&
        unobserved(input.value)
      )
        input = { ...input, value: UNOBSERVED };
      if (op.status === "info" && input.f === "pop") input = { ...input, taken };
      let complete = op.status === "ok" ? op.complete : Number.POSITIVE_INFINITY;
      if (
        op.status === "info" &&
        (input.f === "set" || input.f === "push") &&
        writers.get(input.value) === 1
      )
        complete = observed.get(input.value) ?? complete;
      return {
        source: op,
        input,
        inputClass: complete === Number.POSITIVE_INFINITY ? JSON.stringify(input) : undefined,
        output: op.status === "ok" ? op.output : undefined,
        invoke: op.invoke,
        complete,
      };
    });
}
