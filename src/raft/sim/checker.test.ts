import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Entry, EntryType } from "../types.js";
import { InvariantChecker, type InvariantName, SafetyViolation } from "./checker.js";
import { entryChainHash } from "./hash.js";

/** Entries at consecutive indexes from `first`, each given as [term, data]. */
function ents(first: number, spec: [number, string][]): Entry[] {
  return spec.map(([term, data], i) => ({
    term,
    index: first + i,
    type: EntryType.Normal,
    data: new TextEncoder().encode(data),
  }));
}

function prefixHash(entries: Entry[]): number {
  return entries.reduce((h, e) => entryChainHash(h, e), 0);
}

function checker(nodes = 3): InvariantChecker {
  const c = new InvariantChecker();
  for (let id = 1; id <= nodes; id++) c.addNode(id);
  return c;
}

function assertViolation(fn: () => void, invariant: InvariantName): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SafetyViolation, `expected a SafetyViolation, got ${String(e)}`);
    assert.equal(e.invariant, invariant, e.message);
    return true;
  });
}

/** Writes entries to both views of a node and makes `commit` durable. */
function persist(c: InvariantChecker, id: number, entries: Entry[], commit: number): void {
  c.append(id, "mem", entries);
  c.append(id, "disk", entries);
  c.durableCommit(id, commit);
}

describe("invariant checker", () => {
  test("a correct history passes", () => {
    const c = checker();
    const log = ents(1, [
      [1, "a"],
      [1, "b"],
      [2, "c"],
    ]);
    c.observeState(1, 2, true, 0);
    c.leaderLog(1, 2);
    for (const id of [1, 2, 3]) persist(c, id, log, 3);
    for (const id of [1, 2, 3]) for (const e of log) c.applied(id, e);
    c.readIssued(1);
    c.readAnswered(1, 1, 3);
    assert.equal(c.knownCommit, 3);
    assert.equal(c.elections, 1);
  });

  test("two leaders in one term", () => {
    const c = checker();
    c.observeState(1, 4, true, 0);
    c.observeState(1, 4, true, 0);
    c.observeState(2, 5, true, 0);
    assertViolation(() => c.observeState(3, 4, true, 0), "election-safety");
  });

  test("a commit index that goes back, in memory or on disk", () => {
    const c = checker();
    c.observeState(1, 1, false, 5);
    assertViolation(() => c.observeState(1, 1, false, 4), "commit-monotonic");
    const d = checker();
    persist(
      d,
      1,
      ents(1, [
        [1, "a"],
        [1, "b"],
      ]),
      2,
    );
    assertViolation(() => d.durableCommit(1, 1), "commit-monotonic");
  });

  test("logs that agree on (index, term) but not on the entries before it", () => {
    const c = checker();
    persist(
      c,
      1,
      ents(1, [
        [1, "a"],
        [2, "b"],
      ]),
      0,
    );
    c.append(2, "mem", ents(1, [[3, "x"]]));
    assertViolation(() => c.append(2, "mem", ents(2, [[2, "b"]])), "log-matching");
  });

  test("the same (index, term) with different data", () => {
    const c = checker();
    c.append(1, "mem", ents(1, [[1, "a"]]));
    assertViolation(() => c.append(2, "mem", ents(1, [[1, "z"]])), "log-matching");
  });

  test("a committed entry overwritten on a node that knew it was committed", () => {
    const c = checker();
    persist(
      c,
      1,
      ents(1, [
        [1, "a"],
        [1, "b"],
        [1, "c"],
      ]),
      2,
    );
    assertViolation(() => c.append(1, "disk", ents(2, [[2, "x"]])), "committed-entry-stable");
  });

  test("a committed entry dropped by a truncating append", () => {
    const c = checker();
    const log = ents(1, [
      [1, "a"],
      [1, "b"],
      [1, "c"],
    ]);
    persist(c, 1, log, 3);
    // Rewriting entry 2 with itself truncates entry 3, which was committed.
    assertViolation(() => c.append(1, "disk", log.slice(1, 2)), "committed-entry-stable");
  });

  test("uncommitted entries may be replaced, even in the event that advances the commit", () => {
    const c = checker();
    persist(
      c,
      1,
      ents(1, [
        [1, "a"],
        [1, "stale"],
      ]),
      1,
    );
    // One MsgApp replaced entry 2 and moved the commit index past it.
    c.observeState(1, 2, false, 2);
    c.append(1, "mem", ents(2, [[2, "new"]]));
    c.append(1, "disk", ents(2, [[2, "new"]]));
    c.durableCommit(1, 2);
  });

  test("a lagging node may be overwritten by a stale leader below the cluster's commit", () => {
    const c = checker();
    const log = ents(1, [
      [1, "a"],
      [2, "b"],
    ]);
    persist(c, 1, log, 2);
    persist(c, 2, log, 2);
    // Node 3 holds entry 2 but does not know it is committed; a leader of an older term
    // that never saw entry 2 may still overwrite it there.
    persist(c, 3, log, 1);
    c.append(3, "disk", ents(2, [[1, "z"]]));
  });

  test("nodes that call different entries committed", () => {
    const c = checker();
    persist(c, 1, ents(1, [[1, "a"]]), 1);
    c.append(2, "disk", ents(1, [[2, "b"]]));
    assertViolation(() => c.durableCommit(2, 1), "committed-entry-stable");
  });

  test("a durable commit index beyond the durable log", () => {
    const c = checker();
    c.append(1, "disk", ents(1, [[1, "a"]]));
    assertViolation(() => c.durableCommit(1, 2), "committed-entry-stable");
  });

  test("a leader that lacks an entry committed in an earlier term", () => {
    const c = checker();
    const log = ents(1, [
      [1, "a"],
      [1, "b"],
    ]);
    persist(c, 1, log, 2);
    persist(c, 2, log, 2);
    c.append(3, "mem", log.slice(0, 1));
    c.observeState(3, 2, true, 1);
    assertViolation(() => c.leaderLog(3, 2), "leader-completeness");
  });

  test("a leader whose log has a different entry at a committed index", () => {
    const c = checker();
    persist(
      c,
      1,
      ents(1, [
        [1, "a"],
        [1, "b"],
      ]),
      2,
    );
    c.append(3, "mem", ents(1, [[1, "a"]]));
    c.append(3, "mem", ents(2, [[3, "other"]]));
    c.observeState(3, 4, true, 1);
    assertViolation(() => c.leaderLog(3, 4), "leader-completeness");
  });

  test("two state machines applying different entries at one index", () => {
    const c = checker();
    c.applied(1, ents(1, [[1, "a"]])[0]!);
    assertViolation(() => c.applied(2, ents(1, [[1, "b"]])[0]!), "state-machine-safety");
  });

  test("a state machine that skips an index", () => {
    const c = checker();
    c.applied(1, ents(1, [[1, "a"]])[0]!);
    assertViolation(() => c.applied(1, ents(3, [[1, "c"]])[0]!), "state-machine-safety");
  });

  test("a snapshot restore that disagrees with what others applied", () => {
    const c = checker();
    const log = ents(1, [
      [1, "a"],
      [1, "b"],
    ]);
    for (const e of log) c.applied(1, e);
    c.restored(2, 2, 1, prefixHash(log));
    assertViolation(
      () =>
        c.restored(
          3,
          2,
          1,
          prefixHash(
            ents(1, [
              [1, "a"],
              [1, "x"],
            ]),
          ),
        ),
      "state-machine-safety",
    );
  });

  test("a read answered below the commit index known when it was issued", () => {
    const c = checker();
    c.observeState(1, 1, true, 7);
    c.readIssued(9);
    c.observeState(1, 1, true, 8);
    c.readAnswered(1, 9, 7);
    c.readIssued(10);
    assertViolation(() => c.readAnswered(2, 10, 7), "read-index-linearizable");
  });

  test("a crash loses the volatile log but not the durable one", () => {
    const c = checker();
    persist(c, 1, ents(1, [[1, "a"]]), 1);
    c.append(1, "mem", ents(2, [[1, "b"]]));
    c.crashed(1);
    // After the restart the core may hand out a different entry 2: it was never durable.
    c.append(1, "mem", ents(2, [[2, "c"]]));
    assertViolation(() => c.append(1, "mem", ents(1, [[3, "d"]])), "committed-entry-stable");
  });
});
