import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Config } from "./api.js";
import { MemoryStorage } from "./memory-storage.js";
import { RawNode } from "./rawnode.js";
import { SeededRng } from "./rng.js";
import { Cluster } from "./scenario/cluster.js";
import { formatEntries } from "./scenario/format.js";
import { type Entry, EntryType, MessageType, makeMessage } from "./types.js";

const enc = (s: string) => new TextEncoder().encode(s);

function logOf(c: Cluster, id: number): string {
  const st = c.node(id).storage;
  return formatEntries(st.entries(st.firstIndex(), st.lastIndex() + 1, Number.POSITIVE_INFINITY));
}

for (const asyncStorageWrites of [false, true]) {
  const mode = asyncStorageWrites ? "async storage" : "sync storage";

  describe(`replication (${mode})`, () => {
    test("proposals on the leader and on followers commit and apply everywhere in one order", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.propose(1, "a");
      c.propose(2, "b");
      c.propose(3, "c");
      c.node(1).rn.proposeBatch([enc("d"), enc("e")]);
      c.stabilize();
      const expected = c.node(1).appliedData();
      assert.deepEqual([...expected].sort(), ["a", "b", "c", "d", "e"]);
      assert.ok(expected.indexOf("d") + 1 === expected.indexOf("e"), "a batch stays together");
      for (const id of [2, 3]) assert.deepEqual(c.node(id).appliedData(), expected);
    });

    test("a diverged follower's uncommitted tail is replaced by the new leader's log", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.propose(1, "committed");
      c.stabilize();
      // 1 appends entries nobody else sees, then loses leadership.
      c.isolate(1);
      for (const s of ["lost1", "lost2", "lost3"]) c.propose(1, s);
      c.stabilize();
      c.elect(2);
      c.propose(2, "new1");
      c.propose(2, "new2");
      c.stabilize();
      c.heal();
      c.tick(2);
      c.stabilize();
      assert.equal(c.node(1).rn.status().lead, 2);
      assert.equal(logOf(c, 1), logOf(c, 2));
      assert.equal(logOf(c, 3), logOf(c, 2));
      assert.deepEqual(c.node(1).appliedData(), ["committed", "new1", "new2"]);
    });
  });
}

describe("log repair", () => {
  test("the rejection hint skips back a whole term at a time", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.stabilize();
    // 1 leads term 2 alone and piles up 20 entries no one else gets.
    c.isolate(1);
    for (let i = 0; i < 20; i++) c.propose(1, `stale${i}`);
    c.stabilize();
    c.elect(2);
    for (let i = 0; i < 5; i++) c.propose(2, `fresh${i}`);
    c.stabilize();
    c.heal();
    c.tick(2);
    let rejections = 0;
    for (let round = 0; round < 50; round++) {
      for (const id of [1, 2, 3]) while (c.handleReady(id));
      rejections += c.network.filter((m) => m.type === MessageType.MsgAppResp && m.reject).length;
      if (c.deliver() === 0) break;
    }
    assert.equal(logOf(c, 1), logOf(c, 2));
    assert.ok(rejections <= 2, `expected at most 2 rejections, got ${rejections}`);
  });
});

describe("commitment", () => {
  // The Raft paper's Figure 8: an entry from an earlier term that sits on a majority must
  // not be committed by counting, because a later leader could still overwrite it.
  function figure8(bugs: Config["testingBugs"]): { rn: RawNode; commitAfterOldTermQuorum: number } {
    const storage = new MemoryStorage();
    storage.setConfState({ voters: [1, 2, 3, 4, 5], learners: [] });
    const ents: Entry[] = [
      { term: 1, index: 1, type: EntryType.Normal, data: enc("x") },
      { term: 2, index: 2, type: EntryType.Normal, data: enc("from-term-2") },
    ];
    storage.append(ents);
    storage.setHardState({ term: 3, vote: 0, commit: 1 });
    const rn = new RawNode({
      id: 1,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      applied: 1,
      maxInflightMsgs: 16,
      rng: new SeededRng(8),
      testingBugs: bugs,
    });
    rn.campaign();
    // Votes from 2 and 3 (their logs end like ours); with our own vote that is 3 of 5.
    let rd = rn.ready();
    storage.append(rd.entries);
    if (rd.hardState) storage.setHardState(rd.hardState);
    rn.advance(rd);
    for (const from of [2, 3])
      rn.step(makeMessage({ type: MessageType.MsgVoteResp, from, to: 1, term: 4 }));
    assert.equal(rn.status().role, "leader");
    // Followers 2 and 3 acknowledge index 2 (the term-2 entry) but not yet the leader's
    // term-4 entry at index 3.
    for (const from of [2, 3])
      rn.step(makeMessage({ type: MessageType.MsgAppResp, from, to: 1, term: 4, index: 2 }));
    rd = rn.ready();
    storage.append(rd.entries);
    rn.advance(rd);
    return { rn, commitAfterOldTermQuorum: rn.status().commit };
  }

  test("a leader does not commit an earlier term's entry by counting replicas", () => {
    const { rn, commitAfterOldTermQuorum } = figure8(undefined);
    assert.equal(commitAfterOldTermQuorum, 1);
    // Once its own entry (index 3, term 4) is on a majority, both commit together.
    for (const from of [2, 3])
      rn.step(makeMessage({ type: MessageType.MsgAppResp, from, to: 1, term: 4, index: 3 }));
    assert.equal(rn.status().commit, 3);
  });

  test("with commitPreviousTermByCount (testingBugs) the same state commits the old entry", () => {
    const { commitAfterOldTermQuorum } = figure8({ commitPreviousTermByCount: true });
    assert.equal(commitAfterOldTermQuorum, 2);
  });

  test("heartbeats carry min(match, commit), never more than the follower holds", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.cutLink(1, 3);
    c.propose(1, "a");
    c.stabilize();
    c.heal();
    const commit = c.node(1).rn.status().commit;
    const match3 = c.node(1).rn.status().progress.get(3)!.match;
    assert.ok(match3 < commit);
    c.tick(1);
    c.handleReady(1);
    const hb = c.network.filter((m) => m.type === MessageType.MsgHeartbeat);
    assert.equal(hb.find((m) => m.to === 2)?.commit, commit);
    assert.equal(hb.find((m) => m.to === 3)?.commit, match3);
  });
});

describe("flow control", () => {
  test("a replicating follower gets at most maxInflightMsgs unacknowledged MsgApps", () => {
    const c = new Cluster({ maxInflightMsgs: 2 });
    c.stabilize();
    c.elect(1);
    for (let i = 0; i < 6; i++) {
      c.propose(1, `p${i}`);
      c.handleReady(1);
    }
    const apps = c.network.filter(
      (m) => m.type === MessageType.MsgApp && m.to === 2 && m.entries.length > 0,
    );
    assert.equal(apps.length, 2);
    assert.equal(c.node(1).rn.status().progress.get(2)!.inflight, 2);
    // Acknowledging opens the window and the rest goes out at once.
    c.deliver(2);
    c.handleReady(2);
    c.network = c.network.filter((m) => m.to === 1);
    c.deliver(1);
    c.handleReady(1);
    const more = c.network.filter((m) => m.type === MessageType.MsgApp && m.to === 2);
    assert.deepEqual(
      more.flatMap((m) => m.entries.map((e) => e.index)),
      [7, 8, 9, 10],
    );
  });

  test("maxInflightBytes bounds the bytes in flight", () => {
    const c = new Cluster({ maxInflightMsgs: 100, maxInflightBytes: 250 });
    c.stabilize();
    c.elect(1);
    for (let i = 0; i < 6; i++) {
      c.node(1).rn.propose(new Uint8Array(100));
      c.handleReady(1);
    }
    const apps = c.network.filter(
      (m) => m.type === MessageType.MsgApp && m.to === 2 && m.entries.length > 0,
    );
    assert.equal(apps.length, 3, "the third message reaches 300 >= 250 bytes and fills the window");
  });

  test("maxSizePerMsg splits catch-up into bounded messages", () => {
    const c = new Cluster({ maxSizePerMsg: 250 });
    c.stabilize();
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 10; i++) c.node(1).rn.propose(new Uint8Array(100));
    c.stabilize();
    c.heal();
    const seen: number[] = [];
    for (let round = 0; round < 40; round++) {
      c.tick(1);
      for (const id of [1, 2, 3]) while (c.handleReady(id));
      for (const m of c.network) {
        if (m.type === MessageType.MsgApp && m.to === 3 && m.entries.length > 0) {
          seen.push(m.entries.length);
          const bytes = m.entries.reduce((s, e) => s + e.data.byteLength, 0);
          assert.ok(m.entries.length === 1 || bytes <= 250, `message of ${bytes} bytes`);
        }
      }
      c.deliver();
    }
    assert.equal(c.node(3).rn.status().commit, c.node(1).rn.status().commit);
    assert.ok(Math.max(...seen) === 2, `expected 2-entry messages, saw ${seen.join(",")}`);
  });

  test("an unreachable report sends a replicating follower back to probing", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    assert.equal(c.node(1).rn.status().progress.get(2)!.state, "replicate");
    c.node(1).rn.reportUnreachable(2);
    assert.equal(c.node(1).rn.status().progress.get(2)!.state, "probe");
    c.tick(1);
    c.stabilize();
    assert.equal(c.node(1).rn.status().progress.get(2)!.state, "replicate");
  });
});

for (const asyncStorageWrites of [false, true]) {
  const mode = asyncStorageWrites ? "async storage" : "sync storage";
  describe(`snapshots (${mode})`, () => {
    test("a follower missing compacted entries gets a snapshot, restores it and catches up", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.isolate(3);
      for (let i = 0; i < 5; i++) c.propose(1, `s${i}`);
      c.stabilize();
      const leader = c.node(1);
      const idx = leader.appliedIndex;
      leader.storage.createSnapshot(idx, leader.confState, enc(`state@${idx}`));
      leader.storage.compact(idx);
      c.heal();
      c.propose(1, "after");
      const snapMsg = c.runUntil((m) => m.type === MessageType.MsgSnap);
      assert.equal(snapMsg?.to, 3);
      assert.equal(snapMsg?.snapshot?.metadata.index, idx);
      const pr = leader.rn.status().progress.get(3)!;
      assert.equal(pr.state, "snapshot");
      assert.equal(pr.pendingSnapshot, idx);
      c.stabilize();
      const follower = c.node(3);
      assert.equal(follower.storage.snapshot().metadata.index, idx);
      assert.equal(new TextDecoder().decode(follower.snapshotData), `state@${idx}`);
      // The follower's acknowledgement of the snapshot already resumed replication; the
      // application's report afterwards changes nothing.
      c.node(1).rn.reportSnapshot(3, true);
      c.tick(1);
      c.stabilize();
      assert.equal(leader.rn.status().progress.get(3)!.state, "replicate");
      assert.equal(follower.rn.status().commit, leader.rn.status().commit);
      assert.deepEqual(follower.appliedData(), ["after"]);
    });
  });
}

describe("snapshot status", () => {
  test("a failed snapshot returns the follower to probing from its match", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.snapshotInFlight(1, 3);
    const leader = c.node(1);
    c.drop((m) => m.type === MessageType.MsgSnap);
    assert.equal(leader.rn.status().progress.get(3)!.state, "snapshot");
    leader.rn.reportSnapshot(3, false);
    const pr = leader.rn.status().progress.get(3)!;
    assert.equal(pr.state, "probe");
    assert.equal(pr.pendingSnapshot, 0);
    assert.equal(pr.next, pr.match + 1);
    // The next heartbeat response retries, ending in a fresh snapshot.
    c.tick(1);
    c.stabilize();
    assert.equal(c.node(3).storage.snapshot().metadata.index, leader.appliedIndex);
  });
});

describe("snapshot report", () => {
  test("a successful report moves the follower to probing just past the snapshot", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    const idx = c.snapshotInFlight(1, 3);
    const leader = c.node(1);
    c.drop((m) => m.type === MessageType.MsgSnap);
    leader.rn.reportSnapshot(3, true);
    const pr = leader.rn.status().progress.get(3)!;
    assert.equal(pr.state, "probe");
    assert.equal(pr.next, idx + 1);
  });
});

describe("restart", () => {
  test("a restarted node recovers term, vote, commit and log, and applies nothing twice", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    for (const s of ["a", "b", "c"]) c.propose(1, s);
    c.stabilize();
    const before = c.node(2).rn.status();
    const appliedBefore = c.node(2).appliedData();
    const restarted = c.restart(2);
    const st = restarted.rn.status();
    assert.equal(st.term, before.term);
    assert.equal(st.vote, before.vote);
    assert.equal(st.commit, before.commit);
    assert.equal(st.applied, before.commit);
    assert.equal(st.role, "follower");
    c.propose(1, "d");
    c.stabilize();
    assert.deepEqual(restarted.appliedData(), [...appliedBefore, "d"]);
  });

  test("an applied index ahead of the stored commit (async writes) moves commit up on restart", () => {
    const storage = new MemoryStorage();
    storage.setConfState({ voters: [1, 2, 3], learners: [] });
    storage.append(
      [1, 2, 3, 4, 5].map((index) => ({ term: 1, index, type: EntryType.Normal, data: enc("e") })),
    );
    storage.setHardState({ term: 1, vote: 0, commit: 3 });
    const rn = new RawNode({
      id: 1,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      applied: 5,
      maxInflightMsgs: 8,
      rng: new SeededRng(3),
    });
    assert.equal(rn.status().commit, 5);
    assert.equal(rn.status().applied, 5);
    const rd = rn.ready();
    assert.equal(rd.committedEntries.length, 0, "nothing is applied twice");
    assert.throws(
      () =>
        new RawNode({
          id: 1,
          electionTick: 10,
          heartbeatTick: 1,
          storage,
          applied: 6,
          maxInflightMsgs: 8,
          rng: new SeededRng(3),
        }),
      /applied-within-log/,
    );
  });

  test("a restart without `applied` hands out every committed entry again", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.propose(1, "a");
    c.stabilize();
    const storage = c.node(2).storage;
    const rn = new RawNode({
      id: 2,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      maxInflightMsgs: 8,
      rng: new SeededRng(2),
    });
    const rd = rn.ready();
    assert.equal(rd.committedEntries.length, c.node(2).rn.status().commit);
    assert.equal(rd.entries.length, 0, "nothing to persist again");
  });
});

describe("probing a follower that fell behind", () => {
  /** Leader 1 with follower 3 twenty entries behind and in probe state, links healed. */
  function laggingFollower(): Cluster {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 20; i++) c.propose(1, `while-3-was-away-${i}`);
    c.stabilize();
    c.node(1).rn.reportUnreachable(3);
    c.heal();
    c.network = [];
    return c;
  }

  const heartbeatResponse = (c: Cluster) =>
    makeMessage({
      type: MessageType.MsgHeartbeatResp,
      from: 3,
      to: 1,
      term: c.node(1).rn.status().term,
      context: enc("read-round"),
    });

  /** MsgApps carrying entries that node 1 put on the network for node 3. */
  const probesTo3 = (c: Cluster) =>
    c.network.filter((m) => m.type === MessageType.MsgApp && m.to === 3 && m.entries.length > 0)
      .length;

  test("answers to many heartbeats within one interval resend the probe once, not once each", () => {
    // ReadIndex rounds send a heartbeat each, hundreds per heartbeat interval under read
    // load: a probe of a full message resent per answer floods the follower that is
    // catching up (seen as a leader saturated after a follower's SIGKILL and restart).
    const c = laggingFollower();
    assert.equal(c.node(1).rn.status().progress.get(3)?.state, "probe");
    for (let i = 0; i < 50; i++) {
      c.node(1).rn.step(heartbeatResponse(c));
      c.handleReady(1);
    }
    assert.equal(probesTo3(c), 1);
  });

  test("a lost probe is sent again after the next heartbeat interval", () => {
    const c = laggingFollower();
    c.node(1).rn.step(heartbeatResponse(c));
    c.handleReady(1);
    assert.equal(probesTo3(c), 1);
    c.network = [];
    c.tick(1);
    c.handleReady(1);
    c.node(1).rn.step(heartbeatResponse(c));
    c.handleReady(1);
    assert.equal(probesTo3(c), 1);
    // And once the follower answers, it catches up.
    c.stabilize();
    assert.equal(logOf(c, 3), logOf(c, 1));
  });
});
