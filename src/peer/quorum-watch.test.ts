import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { QuorumWatch, type WatchedLeader } from "./quorum-watch.js";

function fakeLeader(): WatchedLeader & {
  leader: boolean;
  commit: number;
  waiting: number;
  campaigns: number;
} {
  return {
    leader: true,
    commit: 10,
    waiting: 5,
    campaigns: 0,
    isLeader() {
      return this.leader;
    },
    campaign() {
      this.campaigns++;
    },
    status() {
      return { commit: this.commit, term: 3, lead: this.leader ? 1 : 0, role: "follower" };
    },
    stats() {
      return { inflightProposals: this.waiting };
    },
  };
}

function watching(l: WatchedLeader, electionTimeoutMs = 1_000) {
  const lost: string[] = [];
  const w = new QuorumWatch(l, { electionTimeoutMs, onLost: (line) => lost.push(line) });
  w.resume(0);
  return { w, lost };
}

describe("QuorumWatch", () => {
  test("a commit index that stops moving while proposals wait is lost quorum, once", () => {
    const l = fakeLeader();
    const { w, lost } = watching(l);
    try {
      for (let t = 0; t <= 900; t += 100) {
        l.commit += 1;
        w.check(t);
      }
      assert.deepEqual(lost, []);
      for (let t = 1_000; t <= 2_800; t += 100) w.check(t);
      assert.deepEqual(lost, [], "a 1.9 s stall is not yet lost quorum");
      for (let t = 2_900; t <= 4_000; t += 100) w.check(t);
      assert.equal(lost.length, 1);
      assert.match(
        lost[0]!,
        /^lost quorum: nothing committed for 2000 ms \(commit index 20, 5 proposals waiting\)/,
      );
    } finally {
      w.stop();
    }
  });

  test("nothing waiting is not a stall, and a paused watch says nothing", () => {
    const l = fakeLeader();
    const { w, lost } = watching(l);
    try {
      l.waiting = 0;
      for (let t = 0; t <= 5_000; t += 100) w.check(t);
      l.waiting = 3;
      w.pause();
      l.leader = false;
      for (let t = 5_000; t <= 20_000; t += 100) w.check(t);
      assert.deepEqual(lost, []);
    } finally {
      w.stop();
    }
  });

  test("lost leadership is campaigned for, and an error once the bound has passed", () => {
    const l = fakeLeader();
    const { w, lost } = watching(l, 500);
    try {
      w.check(0);
      l.leader = false;
      for (let t = 100; t < 3_100; t += 100) w.check(t);
      assert.deepEqual(lost, []);
      assert.ok(l.campaigns >= 2, `campaigned ${l.campaigns} times`);
      w.check(3_100);
      assert.equal(lost.length, 1);
      assert.match(lost[0]!, /^lost leadership and could not regain it within 3000 ms/);
    } finally {
      w.stop();
    }
  });

  test("leadership regained in time is no error", () => {
    const l = fakeLeader();
    const { w, lost } = watching(l, 500);
    try {
      l.leader = false;
      for (let t = 0; t < 2_000; t += 100) w.check(t);
      l.leader = true;
      for (let t = 2_000; t < 10_000; t += 100) {
        l.commit++;
        w.check(t);
      }
      assert.deepEqual(lost, []);
    } finally {
      w.stop();
    }
  });
});
