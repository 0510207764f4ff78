import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Cluster } from "../raft/scenario/cluster.js";
import { MessageType } from "../raft/types.js";
import { Inbox } from "./inbox.js";

describe("Inbox", () => {
  test("an unreachable report for a peer waiting for a snapshot reports the snapshot failed", () => {
    const c = new Cluster();
    c.stabilize();
    c.elect(1);
    c.snapshotInFlight(1, 3);
    const leader = c.node(1);
    // The transport lost the snapshot and said so the only way it can: unreachable.
    c.drop((m) => m.type === MessageType.MsgSnap);
    const inbox = new Inbox(() => {});
    inbox.unreachableReported(3);
    inbox.deliver(leader.rn);
    assert.equal(leader.rn.status().progress.get(3)!.state, "probe");
    // The next heartbeat answer leads to a fresh snapshot, and node 3 catches up.
    c.tick(1);
    c.stabilize();
    assert.equal(c.node(3).storage.snapshot().metadata.index, leader.appliedIndex);
  });

  test("a disconnect report reaches the core: a follower of that leader campaigns", () => {
    const c = new Cluster({ checkQuorum: true, preVote: true });
    c.stabilize();
    c.elect(3);
    const inbox = new Inbox(() => {});
    inbox.disconnectReported(3);
    assert.ok(inbox.hasWork);
    inbox.deliver(c.node(1).rn);
    assert.equal(c.node(1).rn.status().role, "pre-candidate");
  });
});
