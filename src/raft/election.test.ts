import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStorage } from "./memory-storage.js";
import { RawNode } from "./rawnode.js";
import { SeededRng } from "./rng.js";
import { Cluster } from "./scenario/cluster.js";
import { MessageType, makeMessage } from "./types.js";

for (const asyncStorageWrites of [false, true]) {
  const mode = asyncStorageWrites ? "async storage" : "sync storage";

  describe(`elections (${mode})`, () => {
    test("a candidate with a quorum of votes leads and the others follow it", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(2);
      for (const id of [1, 2, 3]) {
        const st = c.node(id).rn.status();
        assert.equal(st.lead, 2, `node ${id} leader`);
        assert.equal(st.term, 2, `node ${id} term`);
      }
      // The new leader's empty entry commits everywhere.
      for (const id of [1, 2, 3]) assert.equal(c.node(id).rn.status().commit, 4);
    });

    test("a candidate cut off from the others does not win", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.isolate(1);
      c.campaign(1);
      c.stabilize();
      assert.equal(c.node(1).rn.status().role, "candidate");
      assert.equal(c.leader(), 0);
    });

    test("a voter refuses a candidate whose log is behind its own", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.isolate(3);
      c.propose(1, "only-on-1-and-2");
      c.stabilize();
      c.heal();
      // 3 missed an entry: 1 and 2 must refuse it even in a newer term.
      c.isolate(1);
      c.campaign(3);
      c.stabilize();
      assert.notEqual(c.node(3).rn.status().role, "leader");
      assert.equal(c.node(2).rn.status().vote, 0, "2 must not vote for the stale candidate");
      c.campaign(2);
      c.stabilize();
      assert.equal(c.node(2).rn.status().role, "leader");
    });

    test("with the up-to-date check disabled (testingBugs), the stale candidate wins", () => {
      const c = new Cluster({
        asyncStorageWrites,
        configure: (cfg) => (cfg.testingBugs = { ignoreCandidateLogUpToDate: true }),
      });
      c.stabilize();
      c.elect(1);
      c.isolate(3);
      c.propose(1, "only-on-1-and-2");
      c.stabilize();
      c.heal();
      c.isolate(1);
      c.campaign(3);
      c.stabilize();
      assert.equal(c.node(3).rn.status().role, "leader");
    });
  });
}

describe("election details", () => {
  test("the election timeout is randomized within [electionTick, 2*electionTick)", () => {
    const electionTick = 10;
    const seen = new Set<number>();
    for (let seed = 1; seed <= 40; seed++) {
      const storage = new MemoryStorage();
      const rn = new RawNode({
        id: 1,
        electionTick,
        heartbeatTick: 1,
        storage,
        maxInflightMsgs: 8,
        rng: new SeededRng(seed),
      });
      rn.bootstrap([1, 2, 3]);
      rn.advance(rn.ready());
      let ticks = 0;
      while (rn.status().role === "follower") {
        rn.tick();
        ticks++;
        assert.ok(ticks < 2 * electionTick, `seed ${seed}: no campaign after ${ticks} ticks`);
      }
      assert.ok(ticks >= electionTick, `seed ${seed}: campaigned after only ${ticks} ticks`);
      seen.add(ticks);
    }
    assert.ok(seen.size >= 5, `timeouts should vary, saw ${[...seen].join(",")}`);
  });

  test("a voter grants one vote per term", () => {
    const c = new Cluster();
    c.stabilize();
    const rn = c.node(1).rn;
    rn.step(
      makeMessage({ type: MessageType.MsgVote, from: 2, to: 1, term: 5, index: 3, logTerm: 1 }),
    );
    rn.step(
      makeMessage({ type: MessageType.MsgVote, from: 3, to: 1, term: 5, index: 3, logTerm: 1 }),
    );
    c.handleReady(1);
    const resps = c.network.filter((m) => m.type === MessageType.MsgVoteResp);
    assert.deepEqual(
      resps.map((m) => [m.to, m.reject]),
      [
        [2, false],
        [3, true],
      ],
    );
    assert.equal(rn.status().vote, 2);
  });

  test("a vote is persisted before it is sent", () => {
    const c = new Cluster();
    c.stabilize();
    c.node(1).rn.step(
      makeMessage({ type: MessageType.MsgVote, from: 2, to: 1, term: 5, index: 3, logTerm: 1 }),
    );
    const rd = c.node(1).rn.ready();
    assert.ok(rd.mustSync);
    assert.deepEqual(rd.hardState, { term: 5, vote: 2, commit: 3 });
    assert.equal(rd.messages[0]?.type, MessageType.MsgVoteResp);
  });

  test("a node with unapplied committed conf changes does not campaign", () => {
    const storage = new MemoryStorage();
    const rn = new RawNode({
      id: 1,
      electionTick: 10,
      heartbeatTick: 1,
      storage,
      maxInflightMsgs: 8,
      rng: new SeededRng(1),
    });
    rn.bootstrap([1, 2, 3]);
    // The bootstrap entries are committed but not yet applied.
    rn.campaign();
    assert.equal(rn.status().role, "follower");
    const rd = rn.ready();
    storage.append(rd.entries);
    rn.advance(rd);
    rn.campaign();
    assert.equal(rn.status().role, "candidate");
  });
});

describe("pre-vote", () => {
  test("a partitioned node does not raise its term, and rejoining does not disrupt the leader", () => {
    const c = new Cluster({ preVote: true });
    c.stabilize();
    c.elect(1);
    const term = c.node(1).rn.status().term;
    c.isolate(3);
    for (let i = 0; i < 50; i++) {
      c.tick(3);
      c.stabilize();
    }
    assert.equal(c.node(3).rn.status().term, term, "pre-candidate must not bump its term");
    assert.equal(c.node(3).rn.status().role, "pre-candidate");
    c.heal();
    for (let i = 0; i < 3; i++) {
      c.tick(1);
      c.stabilize();
    }
    assert.equal(c.node(1).rn.status().role, "leader");
    assert.equal(c.node(1).rn.status().term, term);
    assert.equal(c.node(3).rn.status().lead, 1);
  });

  test("without pre-vote the same rejoin forces a new election at a higher term", () => {
    const c = new Cluster({ preVote: false });
    c.stabilize();
    c.elect(1);
    const term = c.node(1).rn.status().term;
    c.isolate(3);
    for (let i = 0; i < 50; i++) {
      c.tick(3);
      c.stabilize();
    }
    assert.ok(c.node(3).rn.status().term > term);
    c.heal();
    // 3's next campaign reaches the leader with a higher term and deposes it.
    for (let i = 0; i < 20; i++) {
      c.tick(3);
      c.stabilize();
    }
    assert.ok(c.node(1).rn.status().term > term, "the old leader was deposed by the higher term");
  });

  test("a pre-candidate that wins the pre-vote runs a real election", () => {
    const c = new Cluster({ preVote: true });
    c.stabilize();
    c.campaign(2);
    c.handleReady(2);
    assert.equal(c.node(2).rn.status().role, "pre-candidate");
    assert.equal(c.node(2).rn.status().term, 1);
    assert.deepEqual(
      c.network.map((m) => [m.type, m.term]),
      [
        [MessageType.MsgPreVote, 2],
        [MessageType.MsgPreVote, 2],
      ],
    );
    c.stabilize();
    assert.equal(c.node(2).rn.status().role, "leader");
    assert.equal(c.node(2).rn.status().term, 2);
  });
});

describe("check-quorum", () => {
  test("a leader that hears from no quorum for an election timeout steps down", () => {
    const c = new Cluster({ checkQuorum: true });
    c.stabilize();
    c.elect(1);
    c.isolate(1);
    for (let i = 0; i < 2 * 10 + 1; i++) {
      c.tick(1);
      c.stabilize();
    }
    assert.equal(c.node(1).rn.status().role, "follower");
    assert.equal(c.node(1).rn.status().lead, 0);
  });

  test("a leader in contact with a quorum stays leader", () => {
    const c = new Cluster({ checkQuorum: true });
    c.stabilize();
    c.elect(1);
    c.isolate(3);
    for (let i = 0; i < 45; i++) {
      c.tick(1);
      c.stabilize();
    }
    assert.equal(c.node(1).rn.status().role, "leader");
  });

  test("a follower with a live leader ignores vote requests (lease)", () => {
    const c = new Cluster({ checkQuorum: true });
    c.stabilize();
    c.elect(1);
    const term = c.node(2).rn.status().term;
    c.node(2).rn.step(
      makeMessage({
        type: MessageType.MsgVote,
        from: 3,
        to: 2,
        term: term + 1,
        index: 100,
        logTerm: 100,
      }),
    );
    assert.equal(c.node(2).rn.status().term, term, "term unchanged inside the lease");
    assert.equal(c.node(2).rn.status().lead, 1);
    c.handleReady(2);
    assert.equal(c.inFlight(MessageType.MsgVoteResp).length, 0, "no answer inside the lease");
  });

  test("a transfer's vote request overrides the lease", () => {
    const c = new Cluster({ checkQuorum: true });
    c.stabilize();
    c.elect(1);
    c.node(1).rn.transferLeader(3);
    c.stabilize();
    assert.equal(c.node(3).rn.status().role, "leader");
  });
});

describe("campaignOnElectionTimeout: false (nodes that only campaign when told)", () => {
  const onlyNode1Campaigns = {
    checkQuorum: true,
    preVote: true,
    configure: (cfg: { id: number; campaignOnElectionTimeout?: boolean }) => {
      if (cfg.id !== 1) cfg.campaignOnElectionTimeout = false;
    },
  };

  test("a follower cut off from the leader never starts an election, however long it waits", () => {
    const c = new Cluster(onlyNode1Campaigns);
    c.stabilize();
    c.elect(1);
    c.isolate(1);
    for (let round = 0; round < 10; round++) {
      c.tick(2, 10);
      c.tick(3, 10);
      c.stabilize();
    }
    for (const id of [2, 3]) {
      assert.equal(c.node(id).rn.status().role, "follower", `node ${id} role`);
      assert.equal(c.inFlight(MessageType.MsgPreVote).length, 0);
    }
    assert.equal(c.leader(), 1);
  });

  test("it still votes, and the one node that campaigns wins once the lease has run out", () => {
    const c = new Cluster(onlyNode1Campaigns);
    c.stabilize();
    c.elect(1);
    c.isolate(1);
    // Node 1 steps down (check quorum) and the followers' leases run out.
    c.tick(1, 30);
    c.tick(2, 30);
    c.tick(3, 30);
    // Whatever the ticks produced meets the cut links, not the healed ones.
    c.stabilize();
    c.heal();
    c.elect(1);
    assert.equal(c.node(2).rn.status().lead, 1);
    assert.equal(c.node(3).rn.status().lead, 1);
  });

  test("told to campaign, such a node campaigns and can lead", () => {
    const c = new Cluster(onlyNode1Campaigns);
    c.stabilize();
    c.elect(2);
    assert.equal(c.node(3).rn.status().lead, 2);
  });
});

describe("a broken connection to the leader (reportDisconnected)", () => {
  const opts = { checkQuorum: true, preVote: true };

  test("the survivor with the lowest id campaigns at once, without a tick, and wins", () => {
    const c = new Cluster(opts);
    c.stabilize();
    c.elect(3);
    const term = c.node(1).rn.status().term;
    c.isolate(3);
    c.node(1).rn.reportDisconnected(3);
    c.node(2).rn.reportDisconnected(3);
    c.stabilize();
    assert.equal(c.leader(), 1);
    assert.equal(c.node(1).rn.status().term, term + 1);
    assert.equal(c.node(2).rn.status().lead, 1);
  });

  test("the next survivor waits 0.3 election timeouts, then campaigns", () => {
    const c = new Cluster(opts);
    c.stabilize();
    c.elect(1);
    c.isolate(1);
    // Node 3 ranks second among the survivors (2, 3): it waits three ticks.
    c.node(3).rn.reportDisconnected(1);
    assert.equal(c.node(3).rn.status().lead, 0, "it no longer counts on node 1");
    for (let i = 0; i < 2; i++) {
      c.tick(3);
      c.handleReady(3);
      assert.equal(c.inFlight(MessageType.MsgPreVote).length, 0, `tick ${i + 1}`);
    }
    c.tick(3);
    c.handleReady(3);
    assert.deepEqual(
      c.inFlight(MessageType.MsgPreVote).map((m) => m.to),
      [1, 2],
    );
    assert.equal(c.node(3).rn.status().role, "pre-candidate");
  });

  test("a drop while the leader lives costs no term and no leadership", () => {
    const c = new Cluster(opts);
    c.stabilize();
    c.elect(1);
    const term = c.node(1).rn.status().term;
    // Node 2 alone saw its connection to node 1 break; node 3 still hears node 1.
    c.node(2).rn.reportDisconnected(1);
    c.stabilize();
    assert.equal(c.node(2).rn.status().role, "pre-candidate", "its pre-vote found no quorum");
    c.tick(1);
    c.stabilize();
    for (const id of [1, 2, 3]) {
      assert.equal(c.node(id).rn.status().term, term, `node ${id} term`);
      assert.equal(c.node(id).rn.status().lead, 1, `node ${id} leader`);
    }
  });

  test("news of a peer that is not the leader, or for a node that only campaigns when told, changes nothing", () => {
    const c = new Cluster({
      ...opts,
      configure: (cfg) => {
        if (cfg.id === 3) cfg.campaignOnElectionTimeout = false;
      },
    });
    c.stabilize();
    c.elect(1);
    c.node(2).rn.reportDisconnected(3);
    c.node(3).rn.reportDisconnected(1);
    c.handleReady(2);
    c.handleReady(3);
    assert.equal(c.node(2).rn.status().lead, 1);
    assert.equal(c.node(3).rn.status().lead, 1);
    assert.equal(c.inFlight(MessageType.MsgPreVote).length, 0);
  });
});
