// The operation stream of the crash test, shared by the writer child (wal-crash-writer.ts) and
// the test that checks what survived: both derive the same operations from a seed and the
// log's state, so the parent knows everything the child may have written.
import type { Rng } from "../raft/rng.js";
import { SeededRng } from "../raft/rng.js";
import { type Entry, EntryType } from "../raft/types.js";
import type { Wal } from "../storage/wal/wal.js";

export interface LogEnd {
  first: number;
  last: number;
  lastTerm: number;
}

export type CrashOp = { kind: "append"; entries: Entry[] } | { kind: "compact"; upTo: number };

export function crashEntry(index: number, term: number, size: number): Entry {
  const data = new Uint8Array(size);
  for (let k = 0; k < size; k++) data[k] = (index * 131 + term * 17 + k * 7) & 0xff;
  return { index, term, type: EntryType.Normal, data };
}

/** The next operation for a log that currently ends as `end`. */
export function nextCrashOp(rng: Rng, end: LogEnd): CrashOp {
  const nonEmpty = end.last >= end.first;
  const r = rng.intn(20);
  if (r === 0 && nonEmpty)
    return { kind: "compact", upTo: end.first + rng.intn(end.last - end.first + 1) };
  let from = end.last + 1;
  let term = Math.max(end.lastTerm, 1);
  if (r < 3 && nonEmpty) {
    from = Math.max(end.first, end.last - rng.intn(6));
    term = end.lastTerm + 1;
  }
  const count = 1 + rng.intn(16);
  const entries = Array.from({ length: count }, (_, k) =>
    crashEntry(from + k, term, rng.intn(400)),
  );
  return { kind: "append", entries };
}

/** The log's end after `op`. */
export function endAfter(op: CrashOp, end: LogEnd): LogEnd {
  if (op.kind === "compact") return { first: op.upTo + 1, last: end.last, lastTerm: end.lastTerm };
  const last = op.entries.at(-1)!;
  return { first: end.first, last: last.index, lastTerm: last.term };
}

/**
 * Runs the seeded operation stream against `wal` with synced appends, forever (until the
 * process is killed), calling `onDone(op)` with each operation's 0-based number once it
 * has resolved, in order. Up to `window` operations are in flight at once: more than one
 * lets a log group several appends into one write and one sync.
 */
export async function runCrashOps(
  wal: Wal,
  seed: number,
  onDone: (op: number) => void,
  window = 1,
): Promise<never> {
  let end: LogEnd = {
    first: wal.firstIndex(),
    last: wal.lastIndex(),
    lastTerm: wal.term(wal.lastIndex()),
  };
  const rng = new SeededRng(seed);
  const inFlight: Promise<void>[] = [];
  for (let op = 0; ; op++) {
    const next = nextCrashOp(rng, end);
    const started =
      next.kind === "append" ? wal.append(next.entries, { sync: true }) : wal.compact(next.upTo);
    const n = op;
    const previous = inFlight.at(-1) ?? Promise.resolve();
    // Reported in order: after every earlier operation, and after this one.
    inFlight.push(Promise.all([previous, started]).then(() => onDone(n)));
    end = endAfter(next, end);
    if (inFlight.length >= window) await inFlight.shift();
  }
}
