// The properties judged on hand-made events: each must fail on the event sequence its bug
// produces and pass on the correct one next to it.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Status } from "../../api.js";
import { type Entry, EntryType, type Message, MessageType, makeMessage } from "../../types.js";
import { type InvariantName, SafetyViolation } from "../checker.js";
import { parseFaults } from "../faults.js";
import { NodeIo } from "../node-io.js";
import { SimWorld } from "../world.js";
import { CheckQuorumStepDown } from "./check-quorum-step-down.js";
import { CommitQuorum } from "./commit-quorum.js";
import type { PropertyContext } from "./context.js";
import { ReadQuorum } from "./read-quorum.js";

/** Three bootstrapped nodes (voters 1, 2, 3); node 1 is made leader of term 2 by hand. */
function cluster(): { w: SimWorld; ctx: PropertyContext } {
  const w = new SimWorld({
    seed: 1,
    nodes: 3,
    steps: 1,
    faults: parseFaults("none"),
    async: false,
  });
  w.createNodes();
  const io = new NodeIo(w, { leaderSeen: () => {}, applied: () => {} });
  for (const n of w.nodes) {
    io.startNode(n);
    n.raw!.bootstrap(w.ids);
    n.term = 2;
  }
  w.node(1).isLeader = true;
  return { w, ctx: { world: w, checkQuorum: true, electionTick: 10 } };
}

function violates(fn: () => void, invariant: InvariantName): void {
  assert.throws(fn, (e: unknown) => e instanceof SafetyViolation && e.invariant === invariant);
}

function readCtx(readId: number): Uint8Array {
  const ctx = new Uint8Array(4);
  new DataView(ctx.buffer).setUint32(0, readId, true);
  return ctx;
}

function heartbeatAck(from: number, readId: number): Message {
  return makeMessage({
    type: MessageType.MsgHeartbeatResp,
    to: 1,
    from,
    term: 2,
    context: readCtx(readId),
  });
}

function status(term: number, commit: number): Status {
  return {
    id: 1,
    term,
    vote: 1,
    commit,
    lead: 1,
    role: "leader",
    applied: 0,
    leadTransferee: 0,
    progress: new Map(),
  };
}

function ents(spec: [index: number, term: number][]): Entry[] {
  return spec.map(([index, term]) => ({
    index,
    term,
    type: EntryType.Normal,
    data: new Uint8Array(1),
  }));
}

describe("read-index-quorum", () => {
  test("a read answered with no acknowledgement but the leader's own fails", () => {
    const { w, ctx } = cluster();
    const p = new ReadQuorum(ctx);
    p.readIssued(w.node(1), 7);
    violates(() => p.readAnswered(w.node(1), 7), "read-index-quorum");
  });

  test("an acknowledgement of its heartbeat from one more voter makes a quorum of three", () => {
    const { w, ctx } = cluster();
    const p = new ReadQuorum(ctx);
    p.readIssued(w.node(1), 8);
    p.delivered(w.node(1), heartbeatAck(2, 8));
    p.readAnswered(w.node(1), 8);
  });

  test("an acknowledgement of an earlier read's heartbeat does not confirm a later read", () => {
    const { w, ctx } = cluster();
    const p = new ReadQuorum(ctx);
    p.readIssued(w.node(1), 8);
    p.readIssued(w.node(1), 9);
    p.delivered(w.node(1), heartbeatAck(2, 8));
    p.readAnswered(w.node(1), 8);
    violates(() => p.readAnswered(w.node(1), 9), "read-index-quorum");
  });

  test("an acknowledgement from an earlier term does not count", () => {
    const { w, ctx } = cluster();
    const p = new ReadQuorum(ctx);
    p.readIssued(w.node(1), 8);
    p.delivered(w.node(1), { ...heartbeatAck(2, 8), term: 1 });
    violates(() => p.readAnswered(w.node(1), 8), "read-index-quorum");
  });
});

describe("commit-own-term and commit-quorum", () => {
  const before = { wasLeader: true, term: 2, commit: 1 };

  test("a commit held durably by a majority, of the leader's term, passes", () => {
    const { w, ctx } = cluster();
    const log = ents([
      [1, 1],
      [2, 2],
    ]);
    w.checker.append(1, "mem", log);
    w.checker.append(1, "disk", log);
    w.checker.append(2, "disk", log);
    new CommitQuorum(ctx).observed(w.node(1), status(2, 2), before);
  });

  test("a commit only the leader holds durably fails", () => {
    const { w, ctx } = cluster();
    const log = ents([
      [1, 1],
      [2, 2],
    ]);
    w.checker.append(1, "mem", log);
    w.checker.append(1, "disk", log);
    w.checker.append(2, "mem", log); // handed out but not durable
    violates(
      () => new CommitQuorum(ctx).observed(w.node(1), status(2, 2), before),
      "commit-quorum",
    );
  });

  test("a commit of an earlier term's entry fails even with a majority holding it", () => {
    const { w, ctx } = cluster();
    const log = ents([
      [1, 1],
      [2, 1],
      [3, 2],
    ]);
    for (const id of [1, 2]) w.checker.append(id, "disk", log);
    w.checker.append(1, "mem", log);
    violates(
      () => new CommitQuorum(ctx).observed(w.node(1), status(2, 2), before),
      "commit-own-term",
    );
  });
});

describe("check-quorum-step-down", () => {
  function leading(): { w: SimWorld; p: CheckQuorumStepDown } {
    const { w, ctx } = cluster();
    const p = new CheckQuorumStepDown(ctx);
    p.observed(w.node(1), status(2, 0), { wasLeader: false, term: 2, commit: 0 });
    return { w, p };
  }
  const ack = makeMessage({ type: MessageType.MsgAppResp, to: 1, from: 2, term: 2 });

  test("a leader heard from a quorum 20 ticks ago may still lead", () => {
    const { w, p } = leading();
    w.ticks = 5;
    p.delivered(w.node(1), ack);
    w.ticks = 25;
    p.ticked();
  });

  test("a leader that still leads 21 ticks after it last heard from a quorum fails", () => {
    const { w, p } = leading();
    w.ticks = 5;
    p.delivered(w.node(1), ack);
    w.ticks = 26;
    violates(() => p.ticked(), "check-quorum-step-down");
  });
});
