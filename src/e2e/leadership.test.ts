// The benchmarking peer leads every epoch it starts, whatever the followers' links back to it
// are doing. The lockout this guards against: right after a new epoch, both followers'
// connections to the leader are still reconnecting (gRPC backoff) while they can reach each
// other; one times out, wins with the other's vote, and holds the epoch against the leader.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type InProcessCluster,
  proposeMany,
  startInProcessCluster,
} from "../testing/in-process-cluster.js";

/** Polls until `cond` holds or `ms` pass; meanwhile records whether `never` ever held. */
async function watch(
  ms: number,
  never: () => string | undefined,
): Promise<{ violations: Set<string> }> {
  const violations = new Set<string>();
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = never();
    if (v !== undefined) violations.add(v);
    await new Promise((r) => setTimeout(r, 5));
  }
  return { violations };
}

function followerLeading(cluster: InProcessCluster): string | undefined {
  const p = cluster.peers.slice(1).find((f) => f.isLeader());
  return p === undefined ? undefined : `peer ${p.id} led`;
}

describe("leadership across epochs", () => {
  test("followers cut off from the owner after a new epoch never take it over", async () => {
    const cluster = await startInProcessCluster("parallel-append");
    const { leader, network } = cluster;
    try {
      for (let round = 1; round <= 3; round++) {
        // Both followers' links back to the owner down, as when they are in reconnect
        // backoff after a leader restart; follower-to-follower and owner-to-follower up.
        network.cutLink(2, 1);
        network.cutLink(3, 1);
        const epoch = leader.newEpoch();
        // Several election timeouts (10 ticks of 25 ms): long enough for a follower to win.
        const seen = await watch(1_500, () => followerLeading(cluster));
        await epoch;
        network.healLink(2, 1);
        network.healLink(3, 1);
        await leader.campaignUntilLeader(10_000);
        await leader.waitForAllCaughtUp(10_000);
        const after = await watch(300, () => followerLeading(cluster));
        assert.deepEqual([...seen.violations, ...after.violations], [], `round ${round}`);
        const done = await proposeMany(leader, 50, 4, `r${round}`);
        assert.deepEqual(done.failed, [], `round ${round}`);
      }
    } finally {
      await cluster.stop();
    }
  });

  test("a follower cut off from the owner mid-epoch stays a follower and catches up", async () => {
    const cluster = await startInProcessCluster("parallel-append");
    const { leader, network } = cluster;
    try {
      network.cut(1, 3);
      const during = proposeMany(leader, 200, 8, "a");
      const seen = await watch(1_000, () => followerLeading(cluster));
      assert.deepEqual((await during).failed, []);
      network.heal(1, 3);
      await leader.waitForAllCaughtUp(10_000);
      assert.deepEqual([...seen.violations], []);
      assert.ok(leader.isLeader());
    } finally {
      await cluster.stop();
    }
  });
});
