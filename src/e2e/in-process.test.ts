// Every pipeline, three peers in one process over the local transport: acknowledged
// proposals are logged on a quorum and applied in order, and a new test epoch resets the
// followers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { pipelineKinds } from "../pipeline/registry.js";
import { checkReplicatedAndApplied } from "../testing/cluster-checks.js";
import {
  kvMap,
  loggedValues,
  proposeMany,
  startInProcessCluster,
} from "../testing/in-process-cluster.js";

/** Waits until `cond` holds, polling; fails the test after `ms`. */
async function eventually(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("in-process cluster, every pipeline", () => {
  for (const pipeline of pipelineKinds) {
    test(pipeline, async () => {
      const lazy = pipeline.endsWith("lazy-follower");
      const cluster = await startInProcessCluster(pipeline);
      const { storages, leader } = cluster;
      const allApplied = () => {
        const commit = leader.status().commit;
        return (lazy ? storages.slice(0, 1) : storages).every(
          (s) => s.engine.appliedIndex() >= commit,
        );
      };
      try {
        const first = await proposeMany(leader, 600, 32, "a");
        assert.deepEqual(first.failed, []);
        assert.equal(first.acked.length, 600);
        await leader.waitForAllCaughtUp(5_000);
        await eventually(allApplied, 5_000, "every engine to apply");
        await checkReplicatedAndApplied(storages, first, { lazyFollowers: lazy });

        // A new epoch: every node starts over from an empty state, followers included.
        await leader.newEpoch();
        await leader.campaignUntilLeader(5_000);
        await leader.waitForAllCaughtUp(5_000);
        const second = await proposeMany(leader, 200, 8, "b");
        assert.deepEqual(second.failed, []);
        await leader.waitForAllCaughtUp(5_000);
        await eventually(allApplied, 5_000, "every engine to apply after the reset");
        for (const s of storages) {
          for (const v of loggedValues(s).values()) assert.match(v, /^b-/, "an old entry survived");
          for (const v of (await kvMap(s)).values()) assert.match(v, /^b-/, "an old key survived");
        }
        await checkReplicatedAndApplied(storages, second, { lazyFollowers: lazy });
        for (const p of cluster.peers.slice(1)) {
          assert.deepEqual(p.currentEpoch(), leader.currentEpoch());
        }
      } finally {
        await cluster.stop();
      }
    });
  }
});

describe("lazy followers", () => {
  test("a lazy follower that comes to lead applies what it skipped, then goes on", async () => {
    const cluster = await startInProcessCluster("async-apply-early-ack-lazy-follower");
    const oldLeader = cluster.peers[0]!;
    try {
      const first = await proposeMany(oldLeader, 300, 16, "a");
      assert.deepEqual(first.failed, []);
      await oldLeader.waitForAllCaughtUp(5_000);
      const commit = oldLeader.status().commit;
      for (const s of cluster.storages.slice(1)) {
        assert.ok(s.engine.appliedIndex() < commit, "a follower was not lazy");
      }

      // One of the lazy followers is elected once the leader is gone. Followers never
      // campaign on their own (only the epoch owner leads a benchmark): told to, they do.
      await oldLeader.stop();
      const others = cluster.peers.slice(1);
      await others[0]!.campaignUntilLeader(10_000);
      const k = 0;
      const next = others[k]!;
      const storage = cluster.storages[k + 1]!;
      const engine = storage.engine;
      const second = await proposeMany(next, 100, 8, "b");
      assert.deepEqual(second.failed, []);
      await eventually(
        () => engine.appliedIndex() >= next.status().commit,
        5_000,
        "the new leader to apply",
      );
      // Workers 0-7 wrote last in the second round, 8-15 only in the first.
      const want = new Map<string, string>();
      for (const round of [first, second]) {
        round.ackedByWorker.forEach((vs, w) => {
          if (vs.length > 0) want.set(`w${w}`, vs[vs.length - 1]!);
        });
      }
      assert.deepEqual(await kvMap(storage), want);
    } finally {
      await cluster.stop();
    }
  });
});
