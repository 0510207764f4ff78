import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD } from "./api.js";
import { RaftError } from "./errors.js";
import { Cluster } from "./scenario/cluster.js";
import { MessageType } from "./types.js";

function leaderWithAsyncAppends(): Cluster {
  const c = new Cluster({ asyncStorageWrites: true });
  c.stabilize();
  c.elect(1);
  return c;
}

describe("asyncStorageWrites", () => {
  test("a Ready carries the append and apply work as local messages with their responses", () => {
    const c = leaderWithAsyncAppends();
    c.propose(1, "a");
    const rd = c.node(1).rn.ready();
    const append = rd.messages.find((m) => m.to === LOCAL_APPEND_THREAD);
    assert.ok(append !== undefined);
    assert.equal(append.type, MessageType.MsgStorageAppend);
    assert.deepEqual(
      append.entries.map((e) => e.index),
      [5],
    );
    // Self-acknowledgement first, then the append response with the last entry written.
    assert.deepEqual(
      append.responses?.map((m) => [m.type, m.to, m.index, m.logTerm]),
      [
        [MessageType.MsgAppResp, 1, 5, 0],
        [MessageType.MsgStorageAppendResp, 1, 5, 2],
      ],
    );
    assert.ok(
      rd.messages.every((m) => m.to !== LOCAL_APPLY_THREAD),
      "nothing committed yet",
    );
  });

  test("several appends can be in flight; the leader's match moves only with each response", () => {
    const c = leaderWithAsyncAppends();
    const leader = c.node(1);
    for (const s of ["a", "b", "c"]) {
      c.propose(1, s);
      c.handleReady(1);
    }
    assert.equal(leader.pendingAppends.length, 3);
    const match = () => leader.rn.status().progress.get(1)!.match;
    assert.equal(match(), 4);
    c.completeAppends(1, 1);
    assert.equal(match(), 5);
    c.completeAppends(1, 1);
    assert.equal(match(), 6);
    c.completeAppends(1, 1);
    assert.equal(match(), 7);
    c.stabilize();
    assert.deepEqual(c.node(3).appliedData(), ["a", "b", "c"]);
  });

  test("a follower's acknowledgement leaves only after its append is durable", () => {
    const c = leaderWithAsyncAppends();
    c.propose(1, "a");
    c.handleReady(1);
    c.deliver(2);
    c.handleReady(2);
    assert.equal(c.inFlight(MessageType.MsgAppResp).length, 0, "no ack before the write");
    assert.equal(c.node(2).pendingAppends.length, 1);
    c.completeAppends(2);
    assert.deepEqual(
      c.inFlight(MessageType.MsgAppResp).map((m) => [m.from, m.index]),
      [[2, 5]],
    );
  });

  test("committed entries are applied only after the apply response, and only once durable", () => {
    const c = leaderWithAsyncAppends();
    c.propose(1, "a");
    c.handleReady(1);
    // The followers acknowledge, committing index 5 before the leader's own write is done.
    c.deliver(2);
    c.handleReady(2);
    c.completeAppends(2);
    c.deliver(1);
    c.deliver(3);
    c.handleReady(3);
    c.completeAppends(3);
    c.deliver(1);
    // 5 is committed by 2 and 3, but not yet durable on the leader: not handed to apply.
    assert.equal(c.node(1).rn.status().commit, 5);
    c.handleReady(1);
    assert.equal(c.node(1).pendingApplies.length, 0);
    c.completeAppends(1);
    c.handleReady(1);
    assert.equal(c.node(1).pendingApplies.length, 1);
    assert.equal(c.node(1).rn.status().applied, 4);
    c.completeApplies(1);
    assert.equal(c.node(1).rn.status().applied, 5);
  });

  test("an append response whose entries were overwritten in a later term trims nothing", () => {
    const c = leaderWithAsyncAppends();
    // Leader 1 sends "old" (5@2) to 2 only; neither 1 nor 2 has written it yet.
    c.propose(1, "old");
    c.handleReady(1);
    c.deliver(2);
    c.network = [];
    c.handleReady(2);
    assert.equal(c.node(2).pendingAppends.length, 1);
    // 1 crashes before its write, losing "old"; 3 wins term 3 with 1's vote.
    c.restart(1);
    c.isolate(2);
    c.campaign(3);
    c.stabilize();
    assert.equal(c.node(3).rn.status().role, "leader");
    c.propose(3, "new");
    c.stabilize();
    // 2 rejoins: 5@3 replaces 5@2 in its unstable log while the write of 5@2 is pending.
    c.heal();
    c.tick(3);
    c.stabilize();
    assert.deepEqual(c.node(2).appliedData(), ["new"]);
    const st = c.node(2).storage;
    assert.equal(st.term(5), 3);
    assert.equal(new TextDecoder().decode(st.entries(6, 7, 1000)[0]!.data), "new");
    assert.equal(c.node(2).rn.status().commit, c.node(3).rn.status().commit);
  });

  test("advance() is refused in async mode", () => {
    const c = leaderWithAsyncAppends();
    c.propose(1, "a");
    const rd = c.node(1).rn.ready();
    assert.throws(() => c.node(1).rn.advance(rd), RaftError);
  });
});
