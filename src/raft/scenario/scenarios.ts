// Scripted scenarios whose full transcripts (every Ready, delivery and storage step) are
// checked in under src/raft/testdata, so any change in behaviour shows up as a diff.

import { ConfChangeType, EMPTY_BYTES } from "../types.js";
import { Cluster } from "./cluster.js";

export interface Scenario {
  name: string;
  run(): string[];
}

function started(opts: ConstructorParameters<typeof Cluster>[0] = {}): Cluster {
  const c = new Cluster({ ...opts, transcript: true });
  c.stabilize();
  return c;
}

export const scenarios: Scenario[] = [
  {
    name: "election",
    run() {
      const c = started();
      c.campaign(1);
      c.stabilize();
      return c.transcript;
    },
  },
  {
    name: "election-prevote",
    run() {
      const c = started({ preVote: true, checkQuorum: true });
      c.tick(2, 20);
      c.stabilize();
      return c.transcript;
    },
  },
  {
    name: "replication",
    run() {
      const c = started();
      c.elect(1);
      c.propose(1, "a");
      c.propose(2, "forwarded");
      c.node(1).rn.proposeBatch([new TextEncoder().encode("b1"), new TextEncoder().encode("b2")]);
      c.stabilize();
      c.tick(1);
      c.stabilize();
      return c.transcript;
    },
  },
  {
    name: "follower-repair",
    run() {
      const c = started();
      c.elect(1);
      c.isolate(1);
      c.propose(1, "lost1");
      c.propose(1, "lost2");
      c.stabilize();
      c.elect(2);
      c.propose(2, "kept");
      c.stabilize();
      c.heal();
      c.tick(2);
      c.stabilize();
      return c.transcript;
    },
  },
  {
    name: "leader-transfer",
    run() {
      const c = started();
      c.elect(1);
      c.isolate(3);
      c.propose(1, "x");
      c.stabilize();
      c.heal();
      c.log("> transfer-leader 1 -> 3");
      c.node(1).rn.transferLeader(3);
      c.stabilize();
      return c.transcript;
    },
  },
  {
    name: "conf-change",
    run() {
      const c = started();
      c.elect(1);
      c.addNode(4);
      c.proposeConfChange(1, {
        type: ConfChangeType.AddLearnerNode,
        nodeId: 4,
        context: EMPTY_BYTES,
      });
      c.stabilize();
      c.proposeConfChange(1, { type: ConfChangeType.AddNode, nodeId: 4, context: EMPTY_BYTES });
      c.stabilize();
      c.proposeConfChange(1, { type: ConfChangeType.RemoveNode, nodeId: 2, context: EMPTY_BYTES });
      c.stabilize();
      c.propose(1, "after");
      c.stabilize();
      return c.transcript;
    },
  },
  {
    name: "async-storage",
    run() {
      const c = started({ asyncStorageWrites: true });
      c.elect(1);
      c.propose(1, "a");
      c.handleReady(1);
      c.propose(1, "b");
      c.handleReady(1);
      c.completeAppends(1, 1);
      c.stabilize();
      return c.transcript;
    },
  },
  {
    name: "read-index",
    run() {
      const c = started();
      c.elect(1);
      c.log("> read-index 1 ctx=r1");
      c.node(1).rn.readIndex(new TextEncoder().encode("r1"));
      c.log("> read-index 3 ctx=r3");
      c.node(3).rn.readIndex(new TextEncoder().encode("r3"));
      c.stabilize();
      return c.transcript;
    },
  },
];
