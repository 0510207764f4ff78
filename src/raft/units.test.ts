import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Config } from "./api.js";
import { decodeConfChange, encodeConfChange } from "./confchange.js";
import { InvariantViolation, isRaftError, RaftError } from "./errors.js";
import { Inflights } from "./inflights.js";
import { RaftLog } from "./log.js";
import { MemoryStorage } from "./memory-storage.js";
import { RawNode } from "./rawnode.js";
import { SeededRng } from "./rng.js";
import {
  ConfChangeType,
  EMPTY_BYTES,
  type Entry,
  EntryType,
  MessageType,
  makeMessage,
} from "./types.js";
import { Unstable } from "./unstable.js";

const ent = (index: number, term: number, size = 0): Entry => ({
  term,
  index,
  type: EntryType.Normal,
  data: new Uint8Array(size),
});
const ents = (from: number, to: number, term: number) => {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(ent(i, term));
  return out;
};
const ids = (es: readonly Entry[]) => es.map((e) => `${e.index}@${e.term}`).join(" ");

function config(storage: MemoryStorage, extra: Partial<Config> = {}): Config {
  return {
    id: 1,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    maxInflightMsgs: 4,
    rng: new SeededRng(1),
    ...extra,
  };
}

describe("MemoryStorage", () => {
  test("append replaces a conflicting suffix, ignores compacted entries and refuses gaps", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 5, 1));
    s.append([ent(4, 2)]);
    assert.equal(ids(s.entries(1, s.lastIndex() + 1, Infinity)), "1@1 2@1 3@1 4@2");
    s.compact(2);
    s.append(ents(1, 3, 1).concat([ent(4, 3)]));
    assert.equal(ids(s.entries(3, s.lastIndex() + 1, Infinity)), "3@1 4@3");
    assert.throws(
      () => s.append([ent(9, 3)]),
      (e) => isRaftError(e, "unavailable"),
    );
  });

  test("compaction keeps the term of the compaction point and refuses reads below it", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 5, 2));
    s.compact(3);
    assert.equal(s.firstIndex(), 4);
    assert.equal(s.term(3), 2);
    assert.throws(
      () => s.term(2),
      (e) => isRaftError(e, "compacted"),
    );
    assert.throws(
      () => s.entries(3, 5, Infinity),
      (e) => isRaftError(e, "compacted"),
    );
    assert.throws(
      () => s.compact(3),
      (e) => isRaftError(e, "compacted"),
    );
  });

  test("entries respects maxBytes but returns at least one entry", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1, 100), ent(2, 1, 100), ent(3, 1, 100)]);
    assert.equal(s.entries(1, 4, 250).length, 2);
    assert.equal(s.entries(1, 4, 10).length, 1);
    assert.equal(s.entries(1, 4, 0).length, 1);
  });

  test("a snapshot replaces the log; an older one is refused as compacted", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 10, 1));
    const snap = s.createSnapshot(8, { voters: [1, 2], learners: [3] }, EMPTY_BYTES);
    assert.equal(snap.metadata.term, 1);
    const t = new MemoryStorage();
    t.append(ents(1, 3, 1));
    t.applySnapshot(snap);
    assert.equal(t.firstIndex(), 9);
    assert.equal(t.lastIndex(), 8);
    assert.deepEqual(t.initialState().confState, { voters: [1, 2], learners: [3] });
    const older = { ...snap, metadata: { ...snap.metadata, index: 5 } };
    assert.throws(
      () => t.applySnapshot(older),
      (e) => isRaftError(e, "compacted"),
    );
  });
});

describe("Unstable", () => {
  test("stableTo drops entries only when the term still matches", () => {
    const u = new Unstable(5);
    u.truncateAndAppend(ents(5, 7, 2));
    u.acceptInProgress();
    // Replaced by a later term while the write of 5..7@2 was pending.
    u.truncateAndAppend(ents(6, 7, 3));
    u.stableTo(7, 2);
    assert.equal(ids(u.entries), "5@2 6@3 7@3");
    assert.equal(u.offsetInProgress, 6, "the replaced part must be written again");
    assert.equal(ids(u.nextEntries()), "6@3 7@3");
    u.stableTo(7, 3);
    assert.equal(u.entries.length, 0);
    assert.equal(u.offset, 8);
  });

  test("appending never aliases the caller's array", () => {
    const u = new Unstable(1);
    const batch = ents(1, 2, 1);
    u.truncateAndAppend(batch);
    u.truncateAndAppend([ent(3, 1)]);
    assert.equal(batch.length, 2);
  });
});

describe("RaftLog", () => {
  function logWith(stable: Entry[], unstable: Entry[]): RaftLog {
    const s = new MemoryStorage();
    s.append(stable);
    const l = new RaftLog(s, Infinity);
    if (unstable.length > 0) l.append(unstable);
    return l;
  }

  test("findConflictByTerm returns the last index whose term is at most the given term", () => {
    const l = logWith(ents(1, 3, 1).concat(ents(4, 6, 3)), ents(7, 9, 5));
    assert.deepEqual(l.findConflictByTerm(9, 4), [6, 3]);
    assert.deepEqual(l.findConflictByTerm(9, 2), [3, 1]);
    assert.deepEqual(l.findConflictByTerm(9, 5), [9, 5]);
    assert.deepEqual(l.findConflictByTerm(9, 0), [0, 0]);
  });

  test("maybeAppend refuses a mismatch, truncates a conflict and never touches committed entries", () => {
    const l = logWith(ents(1, 3, 1), ents(4, 5, 2));
    assert.equal(l.maybeAppend(5, 9, 0, []), -1);
    assert.equal(l.maybeAppend(3, 1, 4, ents(4, 4, 3)), 4);
    assert.equal(ids(l.allEntries()), "1@1 2@1 3@1 4@3");
    assert.equal(l.committed, 4);
    assert.throws(() => l.maybeAppend(3, 1, 4, ents(4, 4, 4)), InvariantViolation);
  });

  test("slice spans storage and the unstable tail within maxSize", () => {
    const s = new MemoryStorage();
    s.append([ent(1, 1, 10), ent(2, 1, 10)]);
    const l = new RaftLog(s, Infinity);
    l.append([ent(3, 1, 10), ent(4, 1, 10)]);
    assert.equal(ids(l.slice(1, 5, Infinity)!), "1@1 2@1 3@1 4@1");
    assert.equal(ids(l.slice(1, 5, 30)!), "1@1 2@1 3@1");
    assert.equal(ids(l.slice(2, 5, 5)!), "2@1");
    s.compact(1);
    assert.equal(l.slice(1, 3, Infinity), undefined);
  });

  test("commit beyond the last index is an invariant violation", () => {
    const l = logWith(ents(1, 3, 1), []);
    assert.throws(
      () => l.commitTo(4),
      (e) => e instanceof InvariantViolation && e.invariant === "commit-within-log",
    );
  });
});

describe("Inflights", () => {
  test("fills by count or bytes and frees acknowledged messages in order", () => {
    const f = new Inflights(3, 0);
    f.add(5, 10);
    f.add(7, 10);
    f.add(9, 10);
    assert.ok(f.full());
    f.freeLE(7);
    assert.equal(f.length, 1);
    f.add(11, 10);
    f.add(12, 10);
    assert.ok(f.full());
    f.freeLE(100);
    assert.equal(f.length, 0);
    const b = new Inflights(10, 25);
    b.add(1, 20);
    assert.ok(!b.full());
    b.add(2, 5);
    assert.ok(b.full());
    b.freeLE(1);
    assert.equal(b.inflightBytes, 5);
  });
});

describe("conf change encoding", () => {
  test("round-trips every type, large ids and context", () => {
    for (const type of [
      ConfChangeType.AddNode,
      ConfChangeType.RemoveNode,
      ConfChangeType.UpdateNode,
      ConfChangeType.AddLearnerNode,
    ]) {
      for (const nodeId of [1, 7, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER - 2]) {
        const cc = { type, nodeId, context: new Uint8Array([1, 2, 3]) };
        assert.deepEqual(decodeConfChange(encodeConfChange(cc)), cc);
      }
    }
  });

  test("rejects bytes that are not a conf change", () => {
    assert.throws(() => decodeConfChange(new Uint8Array([1, 2])), RangeError);
    assert.throws(() => decodeConfChange(new Uint8Array(12)), RangeError);
    assert.throws(
      () => encodeConfChange({ type: ConfChangeType.AddNode, nodeId: 0, context: EMPTY_BYTES }),
      RangeError,
    );
  });
});

describe("RawNode API", () => {
  test("bad configuration is refused with a message naming the field", () => {
    const s = new MemoryStorage();
    const bad: [Partial<Config>, RegExp][] = [
      [{ id: 0 }, /id/],
      [{ heartbeatTick: 0 }, /heartbeatTick/],
      [{ electionTick: 1 }, /electionTick/],
      [{ maxInflightMsgs: 0 }, /maxInflightMsgs/],
      [{ maxSizePerMsg: -1 }, /maxSizePerMsg/],
    ];
    for (const [extra, re] of bad) {
      assert.throws(
        () => new RawNode(config(s, extra)),
        (e) => isRaftError(e, "invalid-config") && re.test(e.message),
      );
    }
  });

  test("bootstrap needs empty storage and peers", () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1));
    assert.throws(() => new RawNode(config(s)).bootstrap([1]), RaftError);
    assert.throws(() => new RawNode(config(new MemoryStorage())).bootstrap([]), RaftError);
  });

  test("the first Ready after bootstrap persists and applies the membership", () => {
    const rn = new RawNode(config(new MemoryStorage()));
    rn.bootstrap([1, 2]);
    const rd = rn.ready();
    assert.deepEqual(rd.hardState, { term: 1, vote: 0, commit: 2 });
    assert.equal(rd.entries.length, 2);
    assert.equal(rd.committedEntries.length, 2);
    assert.ok(rd.entries.every((e) => e.type === EntryType.ConfChange && e.term === 1));
  });

  test("local-only messages and responses from strangers are refused by step", () => {
    const rn = new RawNode(config(new MemoryStorage()));
    rn.bootstrap([1, 2]);
    assert.throws(
      () => rn.step(makeMessage({ type: MessageType.MsgHup, from: 2, to: 1 })),
      (e) => isRaftError(e, "step-local-msg"),
    );
    assert.throws(
      () => rn.step(makeMessage({ type: MessageType.MsgAppResp, from: 9, to: 1, term: 1 })),
      (e) => isRaftError(e, "step-peer-not-found"),
    );
    assert.throws(
      () => rn.step(makeMessage({ type: MessageType.MsgApp, from: 2, to: 1, term: -1 })),
      RangeError,
    );
  });

  test("advance must be given the Ready just returned, before the next one", () => {
    const rn = new RawNode(config(new MemoryStorage()));
    rn.bootstrap([1, 2]);
    const rd = rn.ready();
    assert.throws(() => rn.ready(), InvariantViolation);
    assert.throws(() => rn.advance({ ...rd }), InvariantViolation);
    rn.advance(rd);
    assert.equal(rn.hasReady(), false);
  });

  test("maxCommittedSizePerReady splits application across Readies", () => {
    const storage = new MemoryStorage();
    const rn = new RawNode(config(storage, { maxCommittedSizePerReady: 150 }));
    rn.bootstrap([1]);
    const cycle = () => {
      const rd = rn.ready();
      storage.append(rd.entries);
      rn.advance(rd);
      return rd;
    };
    cycle();
    rn.campaign();
    while (rn.hasReady()) cycle();
    assert.equal(rn.status().role, "leader");
    rn.proposeBatch([new Uint8Array(100), new Uint8Array(100), new Uint8Array(100)]);
    const sizes: number[] = [];
    while (rn.hasReady()) {
      const rd = cycle();
      if (rd.committedEntries.length > 0) sizes.push(rd.committedEntries.length);
    }
    assert.deepEqual(sizes, [1, 1, 1]);
  });
});
