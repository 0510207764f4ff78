// Configuration and snapshots on a follower, driven message by message: a conf change
// still in the application's apply path when a newer snapshot arrives, and a snapshot
// whose configuration does not include the node it is sent to.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD, type Ready } from "./api.js";
import { decodeConfChange, encodeConfChange } from "./confchange.js";
import { MemoryStorage } from "./memory-storage.js";
import { RawNode } from "./rawnode.js";
import { SeededRng } from "./rng.js";
import { Cluster } from "./scenario/cluster.js";
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type Message,
  MessageType,
  makeMessage,
  type Snapshot,
} from "./types.js";

const LEADER = 1;
const LEADER_TERM = 2;

function cc(type: ConfChangeType, nodeId: number): ConfChange {
  return { type, nodeId, context: new Uint8Array(0) };
}

function confEntry(index: number, change: ConfChange): Entry {
  return { term: LEADER_TERM, index, type: EntryType.ConfChange, data: encodeConfChange(change) };
}

function snapshotAt(index: number, confState: ConfState): Snapshot {
  return { data: new Uint8Array([index]), metadata: { index, term: LEADER_TERM, confState } };
}

function appendFromLeader(to: number, prevIndex: number, prevTerm: number, ents: Entry[]) {
  return makeMessage({
    type: MessageType.MsgApp,
    to,
    from: LEADER,
    term: LEADER_TERM,
    index: prevIndex,
    logTerm: prevTerm,
    entries: ents,
    commit: ents[ents.length - 1]!.index,
  });
}

function snapFromLeader(to: number, snap: Snapshot): Message {
  return makeMessage({
    type: MessageType.MsgSnap,
    to,
    from: LEADER,
    term: LEADER_TERM,
    snapshot: snap,
  });
}

/** A node and the application around it: durable storage plus what it has applied. */
class Follower {
  readonly storage = new MemoryStorage();
  readonly raw: RawNode;
  /** Configurations returned by applyConfChange, in order. */
  readonly returned: ConfState[] = [];

  constructor(
    readonly id: number,
    readonly async: boolean,
  ) {
    this.raw = new RawNode({
      id,
      electionTick: 10,
      heartbeatTick: 1,
      storage: this.storage,
      maxInflightMsgs: 8,
      asyncStorageWrites: async,
      rng: new SeededRng(id),
    });
  }

  /** Applies entries as an application does, passing each conf change's index. */
  apply(ents: readonly Entry[]): void {
    for (const e of ents) {
      if (e.type !== EntryType.ConfChange) continue;
      this.returned.push(this.raw.applyConfChange(decodeConfChange(e.data), e.index));
    }
  }

  persist(snap: Snapshot | undefined, ents: Entry[], hs: Ready["hardState"]): void {
    if (snap !== undefined) this.storage.applySnapshot(snap);
    this.storage.append(ents);
    if (hs !== undefined) this.storage.setHardState(hs);
  }

  /** Sync mode: persists one Ready; the caller applies it (or not yet) and advances. */
  persistReady(): Ready {
    const rd = this.raw.ready();
    this.persist(rd.snapshot, rd.entries, rd.hardState);
    return rd;
  }

  /** Async mode: the local storage messages of one Ready; the rest is network traffic. */
  takeStorageWork(): { append: Message[]; apply: Message[] } {
    const rd = this.raw.ready();
    return {
      append: rd.messages.filter((m) => m.to === LOCAL_APPEND_THREAD),
      apply: rd.messages.filter((m) => m.to === LOCAL_APPLY_THREAD),
    };
  }

  runAppendWorker(msgs: readonly Message[]): void {
    for (const m of msgs) {
      const hs = m.term === 0 ? undefined : { term: m.term, vote: m.vote, commit: m.commit };
      this.persist(m.snapshot, m.entries, hs);
      for (const r of m.responses ?? []) if (r.to === this.id) this.raw.step(r);
    }
  }

  runApplyWorker(msgs: readonly Message[]): void {
    for (const m of msgs) {
      this.apply(m.entries);
      for (const r of m.responses ?? []) this.raw.step(r);
    }
  }

  /** Handles every Ready until none is left. */
  settle(): void {
    for (let i = 0; this.raw.hasReady(); i++) {
      assert.ok(i < 100, "node never ran out of Readys");
      if (this.async) {
        const work = this.takeStorageWork();
        this.runAppendWorker(work.append);
        this.runApplyWorker(work.apply);
      } else {
        const rd = this.persistReady();
        this.apply(rd.committedEntries);
        this.raw.advance(rd);
      }
    }
  }

  /** The peers a campaign asks for votes: the voters this node believes in, minus itself. */
  campaignTargets(): number[] {
    this.raw.campaign();
    const msgs = this.async ? this.raw.ready().messages : this.persistReady().messages;
    return msgs
      .filter((m) => m.type === MessageType.MsgVote || m.type === MessageType.MsgPreVote)
      .map((m) => m.to)
      .sort((a, b) => a - b);
  }
}

/** Node 2 of a bootstrapped group {1, 2, 3} that has applied its bootstrap (log 1..3, term 1). */
function bootstrapped(async: boolean): Follower {
  const f = new Follower(2, async);
  f.raw.bootstrap([1, 2, 3]);
  f.settle();
  assert.deepEqual(f.raw.confState(), { voters: [1, 2, 3], learners: [] });
  return f;
}

const THREE = { voters: [1, 2, 3], learners: [] };

describe("a conf change applied after a newer snapshot", () => {
  // Node 4 was added at index 4 and removed again before index 6. The follower has been
  // handed entry 4 to apply when the leader's snapshot at 6 arrives.
  test("sync mode: the Ready's older conf change does not roll back the snapshot's configuration", () => {
    const f = bootstrapped(false);
    f.raw.step(appendFromLeader(2, 3, 1, [confEntry(4, cc(ConfChangeType.AddNode, 4))]));
    const rd = f.persistReady();
    assert.deepEqual(
      rd.committedEntries.map((e) => e.index),
      [4],
    );
    // step() may come between ready() and advance(): the snapshot arrives first.
    f.raw.step(snapFromLeader(2, snapshotAt(6, THREE)));
    assert.ok(f.raw.hasPendingSnapshot());
    f.apply(rd.committedEntries);
    f.raw.advance(rd);
    assert.deepEqual(f.returned.at(-1), THREE, "applyConfChange returned a rolled-back config");
    f.settle();
    assert.deepEqual(f.raw.confState(), THREE);
    assert.equal(f.raw.status().applied, 6);
    assert.deepEqual(f.campaignTargets(), [1, 3], "the node campaigns with a removed voter");
  });

  test("async mode: an apply worker behind a pending snapshot does not roll it back", () => {
    const f = bootstrapped(true);
    f.raw.step(appendFromLeader(2, 3, 1, [confEntry(4, cc(ConfChangeType.AddNode, 4))]));
    f.runAppendWorker(f.takeStorageWork().append);
    const held = f.takeStorageWork().apply;
    assert.deepEqual(
      held.flatMap((m) => m.entries.map((e) => e.index)),
      [4],
    );
    f.raw.step(snapFromLeader(2, snapshotAt(6, THREE)));
    // The apply worker finishes entry 4 before the snapshot is written.
    f.runApplyWorker(held);
    assert.ok(f.raw.hasPendingSnapshot());
    assert.deepEqual(f.returned.at(-1), THREE, "applyConfChange returned a rolled-back config");
    f.settle();
    assert.deepEqual(f.raw.confState(), THREE);
    assert.deepEqual(f.campaignTargets(), [1, 3], "the node campaigns with a removed voter");
  });

  test("conf changes after the snapshot still take effect", () => {
    const f = bootstrapped(false);
    f.raw.step(snapFromLeader(2, snapshotAt(6, THREE)));
    f.settle();
    f.raw.step(appendFromLeader(2, 6, LEADER_TERM, [confEntry(7, cc(ConfChangeType.AddNode, 5))]));
    f.settle();
    assert.deepEqual(f.raw.confState(), { voters: [1, 2, 3, 5], learners: [] });
  });

  test("an entry applied twice is ignored the second time; without an index it is not", () => {
    const f = bootstrapped(false);
    f.raw.applyConfChange(cc(ConfChangeType.AddNode, 4), 4);
    f.raw.applyConfChange(cc(ConfChangeType.AddLearnerNode, 4), 5);
    const again = f.raw.applyConfChange(cc(ConfChangeType.AddNode, 4), 4);
    assert.deepEqual(again, { voters: [1, 2, 3], learners: [4] });
    const unindexed = f.raw.applyConfChange(cc(ConfChangeType.AddNode, 4));
    assert.deepEqual(unindexed, { voters: [1, 2, 3, 4], learners: [] });
  });
});

describe("a snapshot whose configuration lacks the receiving node", () => {
  // Node 4 was added after the leader's last snapshot (at 6) was taken. The core refuses
  // it; the application must serve a snapshot taken after node 4 was added.
  test("is refused, and a newer snapshot that includes the node is accepted", () => {
    const f = new Follower(4, false);
    f.raw.step(snapFromLeader(4, snapshotAt(6, THREE)));
    const refused = f.persistReady();
    assert.equal(refused.snapshot, undefined, "a snapshot without the node was installed");
    const resp = refused.messages.find((m) => m.type === MessageType.MsgAppResp);
    assert.ok(resp !== undefined && resp.to === LEADER && !resp.reject);
    assert.equal(resp.index, 0, "the refusal must report the node's unchanged commit index");
    f.raw.advance(refused);
    assert.deepEqual(f.raw.confState(), { voters: [], learners: [] });

    const withNode = { voters: [1, 2, 3, 4], learners: [] };
    f.raw.step(snapFromLeader(4, snapshotAt(9, withNode)));
    const accepted = f.persistReady();
    assert.equal(accepted.snapshot?.metadata.index, 9);
    f.raw.advance(accepted);
    f.settle();
    assert.deepEqual(f.raw.confState(), withNode);
    assert.equal(f.raw.status().commit, 9);
  });
});

describe("a leader whose only snapshot predates a new member", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const isSnapTo4 = (m: Message) => m.type === MessageType.MsgSnap && m.to === 4;

  for (const asyncStorageWrites of [false, true]) {
    test(`does not send it, and sends a newer one once the storage has it (${asyncStorageWrites ? "async" : "sync"})`, () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.propose(1, "a");
      c.stabilize();
      const leader = c.node(1);
      const early = leader.appliedIndex;
      leader.storage.createSnapshot(early, leader.confState, enc("early"));
      leader.storage.compact(early);
      c.addNode(4);
      c.proposeConfChange(1, cc(ConfChangeType.AddNode, 4));
      c.stabilize();
      c.tick(1);
      c.stabilize();
      // Node 4 needs compacted entries, and the only snapshot lacks it.
      assert.deepEqual(c.sent.filter(isSnapTo4), [], "sent a snapshot node 4 must refuse");
      assert.equal(leader.rn.status().progress.get(4)?.state, "probe");
      assert.equal(c.node(4).rn.status().commit, 0);

      const late = leader.appliedIndex;
      leader.storage.createSnapshot(late, leader.confState, enc("late"));
      c.tick(1);
      c.stabilize();
      const snaps = c.sent.filter(isSnapTo4);
      assert.deepEqual(
        snaps.map((m) => m.snapshot?.metadata.index),
        [late],
      );
      assert.deepEqual(c.node(4).confState, { voters: [1, 2, 3, 4], learners: [] });
      assert.equal(c.node(4).rn.status().commit, leader.rn.status().commit);
    });
  }
});
