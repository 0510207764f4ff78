import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { isRaftError } from "./errors.js";
import { Cluster } from "./scenario/cluster.js";
import { ConfChangeType, EMPTY_BYTES, MessageType } from "./types.js";

const enc = (s: string) => new TextEncoder().encode(s);
const cc = (type: ConfChangeType, nodeId: number) => ({ type, nodeId, context: EMPTY_BYTES });

function dropReason(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    if (isRaftError(e, "proposal-dropped")) return e.reason;
    throw e;
  }
  return "accepted";
}

for (const asyncStorageWrites of [false, true]) {
  const mode = asyncStorageWrites ? "async storage" : "sync storage";

  describe(`membership changes (${mode})`, () => {
    test("a new voter is added, catches up from an empty log and counts in the quorum", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.propose(1, "before");
      c.stabilize();
      c.addNode(4);
      c.proposeConfChange(1, cc(ConfChangeType.AddNode, 4));
      c.stabilize();
      assert.deepEqual(c.node(1).confState.voters, [1, 2, 3, 4]);
      c.propose(1, "after");
      c.stabilize();
      assert.deepEqual(c.node(4).appliedData(), ["before", "after"]);
      assert.deepEqual(c.node(4).confState.voters, [1, 2, 3, 4]);
      // With 4 voters a quorum is 3: the leader plus one follower no longer commit.
      c.isolate(3);
      c.isolate(4);
      c.propose(1, "needs-three");
      c.stabilize();
      assert.ok(!c.node(1).appliedData().includes("needs-three"));
    });

    test("a learner receives the log but does not vote or count, until promoted", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.addNode(4);
      c.proposeConfChange(1, cc(ConfChangeType.AddLearnerNode, 4));
      c.stabilize();
      assert.deepEqual(c.node(1).confState, { voters: [1, 2, 3], learners: [4] });
      c.propose(1, "x");
      c.stabilize();
      assert.deepEqual(c.node(4).appliedData(), ["x"]);
      assert.equal(c.node(1).rn.status().progress.get(4)?.isLearner, true);
      // A learner never campaigns.
      c.tick(4, 100);
      assert.equal(c.node(4).rn.status().role, "follower");
      // Leader plus learner are no quorum of {1,2,3}.
      c.isolate(2);
      c.isolate(3);
      c.propose(1, "y");
      c.stabilize();
      assert.ok(!c.node(1).appliedData().includes("y"));
      c.heal();
      c.tick(1);
      c.stabilize();
      c.proposeConfChange(1, cc(ConfChangeType.AddNode, 4));
      c.stabilize();
      assert.deepEqual(c.node(1).confState, { voters: [1, 2, 3, 4], learners: [] });
      assert.equal(c.node(1).rn.status().progress.get(4)?.isLearner, false);
    });

    test("a removed follower stops counting and receiving", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.proposeConfChange(1, cc(ConfChangeType.RemoveNode, 3));
      c.stabilize();
      assert.deepEqual(c.node(1).confState.voters, [1, 2]);
      assert.equal(c.node(1).rn.status().progress.has(3), false);
      const sentBefore = c.sent.length;
      c.propose(1, "z");
      c.stabilize();
      assert.ok(c.sent.slice(sentBefore).every((m) => m.to !== 3));
      assert.deepEqual(c.node(2).appliedData(), ["z"]);
    });

    test("a removed leader steps down and the others elect a new one", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.proposeConfChange(1, cc(ConfChangeType.RemoveNode, 1));
      c.stabilize();
      assert.equal(c.node(1).rn.status().role, "follower");
      c.elect(2);
      c.propose(2, "after-removal");
      c.stabilize();
      assert.deepEqual(c.node(3).appliedData(), ["after-removal"]);
    });
  });
}

describe("membership rules", () => {
  test("only one conf change may be pending at a time", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.proposeConfChange(1, cc(ConfChangeType.AddLearnerNode, 4));
    assert.equal(
      dropReason(() => c.node(1).rn.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5))),
      "conf change pending",
    );
    c.stabilize();
    assert.equal(
      dropReason(() => c.node(1).rn.proposeConfChange(cc(ConfChangeType.AddLearnerNode, 5))),
      "accepted",
    );
  });

  test("a forwarded conf change that is not allowed becomes an empty entry", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.proposeConfChange(1, cc(ConfChangeType.AddLearnerNode, 4));
    c.proposeConfChange(2, cc(ConfChangeType.AddLearnerNode, 5));
    c.stabilize();
    assert.deepEqual(c.node(1).confState.learners, [4]);
  });

  test("removing the last voter is refused", () => {
    const c = new Cluster({ ids: [1] });
    c.stabilize();
    c.elect(1);
    assert.equal(
      dropReason(() => c.node(1).rn.proposeConfChange(cc(ConfChangeType.RemoveNode, 1))),
      "would remove all voters",
    );
  });
});

describe("leadership transfer", () => {
  test("the transferee is caught up first, then told to campaign, and wins", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.isolate(3);
    c.propose(1, "x");
    c.stabilize();
    c.heal();
    c.node(1).rn.transferLeader(3);
    assert.equal(c.node(1).rn.status().leadTransferee, 3);
    const timeoutNow = c.runUntil((m) => m.type === MessageType.MsgTimeoutNow);
    assert.equal(timeoutNow?.to, 3);
    c.stabilize();
    assert.equal(c.node(3).rn.status().role, "leader");
    assert.equal(c.node(1).rn.status().lead, 3);
    assert.equal(c.node(1).rn.status().leadTransferee, 0);
  });

  test("a transfer requested on a follower is forwarded to the leader", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.node(2).rn.transferLeader(2);
    c.stabilize();
    assert.equal(c.node(2).rn.status().role, "leader");
  });

  test("proposals are refused during a transfer, which is abandoned after an election timeout", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.isolate(3);
    c.node(1).rn.transferLeader(3);
    assert.equal(
      dropReason(() => c.node(1).rn.propose(enc("no"))),
      "leader transfer in progress",
    );
    for (let i = 0; i < 10; i++) {
      c.tick(1);
      c.stabilize();
    }
    assert.equal(c.node(1).rn.status().leadTransferee, 0);
    assert.equal(c.node(1).rn.status().role, "leader");
    assert.equal(
      dropReason(() => c.node(1).rn.propose(enc("yes"))),
      "accepted",
    );
  });
});

for (const asyncStorageWrites of [false, true]) {
  const mode = asyncStorageWrites ? "async storage" : "sync storage";
  describe(`ReadIndex (${mode})`, () => {
    test("the leader answers after a heartbeat round with the commit index at request time", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.propose(1, "x");
      c.stabilize();
      const commit = c.node(1).rn.status().commit;
      c.node(1).rn.readIndex(enc("r1"));
      c.handleReady(1);
      assert.equal(c.node(1).readStates.length, 0, "no answer before the quorum confirms");
      const hbs = c.network.filter((m) => m.type === MessageType.MsgHeartbeat);
      assert.equal(hbs.length, 2);
      assert.ok(hbs.every((m) => new TextDecoder().decode(m.context) === "r1"));
      c.stabilize();
      assert.deepEqual(
        c.node(1).readStates.map((rs) => [rs.index, new TextDecoder().decode(rs.requestCtx)]),
        [[commit, "r1"]],
      );
    });

    test("a follower's read is forwarded and answered", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.node(3).rn.readIndex(enc("f1"));
      c.stabilize();
      assert.deepEqual(
        c.node(3).readStates.map((rs) => rs.index),
        [c.node(1).rn.status().commit],
      );
    });

    test("an isolated leader cannot answer a read", () => {
      const c = new Cluster({ asyncStorageWrites });
      c.stabilize();
      c.elect(1);
      c.isolate(1);
      c.node(1).rn.readIndex(enc("lonely"));
      c.stabilize();
      assert.equal(c.node(1).readStates.length, 0);
    });
  });
}

describe("ReadIndex on a new leader", () => {
  test("reads wait until the leader has committed an entry of its own term", () => {
    const c = new Cluster();
    c.stabilize();
    c.campaign(1);
    c.runUntil((m) => m.type === MessageType.MsgApp);
    c.node(1).rn.readIndex(enc("early"));
    c.handleReady(1);
    assert.equal(
      c.inFlight(MessageType.MsgHeartbeat).length,
      0,
      "no read round before the first commit",
    );
    c.stabilize();
    const st = c.node(1).rn.status();
    assert.deepEqual(
      c.node(1).readStates.map((rs) => rs.index),
      [st.commit],
    );
  });
});

describe("refused proposals", () => {
  test("no leader", () => {
    const c = new Cluster();
    c.stabilize();
    assert.equal(
      dropReason(() => c.node(1).rn.propose(enc("x"))),
      "no leader",
    );
    c.isolate(1);
    c.campaign(1);
    assert.equal(
      dropReason(() => c.node(1).rn.propose(enc("x"))),
      "no leader",
    );
  });

  test("forwarding disabled", () => {
    const c = new Cluster({ disableProposalForwarding: true });
    c.stabilize();
    c.elect(1);
    assert.equal(
      dropReason(() => c.node(2).rn.propose(enc("x"))),
      "proposal forwarding disabled",
    );
  });

  test("uncommitted size limit", () => {
    const c = new Cluster({ maxUncommittedEntriesSize: 250 });
    c.stabilize();
    c.elect(1);
    c.isolate(1);
    c.node(1).rn.propose(new Uint8Array(100));
    c.node(1).rn.propose(new Uint8Array(100));
    assert.equal(
      dropReason(() => c.node(1).rn.propose(new Uint8Array(100))),
      "uncommitted size limit",
    );
    // Empty proposals always fit; committing and applying frees the budget.
    assert.equal(
      dropReason(() => c.node(1).rn.propose(new Uint8Array(0))),
      "accepted",
    );
    c.heal();
    c.tick(1);
    c.stabilize();
    assert.equal(
      dropReason(() => c.node(1).rn.propose(new Uint8Array(100))),
      "accepted",
    );
  });

  test("a batch is refused as a whole", () => {
    const c = new Cluster({ maxUncommittedEntriesSize: 250 });
    c.stabilize();
    c.elect(1);
    c.isolate(1);
    c.node(1).rn.propose(new Uint8Array(10));
    const last = c.node(1).rn.status().commit;
    assert.equal(
      dropReason(() => c.node(1).rn.proposeBatch([new Uint8Array(200), new Uint8Array(200)])),
      "uncommitted size limit",
    );
    assert.equal(c.node(1).rn.status().commit, last);
  });
});
