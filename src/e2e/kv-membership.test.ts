// Membership changes through any member (issue 9): a node joins through a follower's HTTP
// address and is removed with DELETE /cluster/ID sent to a follower, by a client that does
// not follow redirects; the follower carries the request to the leader.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { KvCluster } from "../cmd/kv-cluster.js";
import { retryUntil } from "../testing/retry.js";

describe("rafttoy-kv processes: membership through a follower", () => {
  let c: KvCluster;
  before(async () => {
    c = await KvCluster.start();
  });
  after(() => c?.stop());

  it("joins a node through a follower and removes it with DELETE sent to a follower", async () => {
    const leader = await c.leader();
    const [first, second] = c.running().filter((n) => n !== leader);
    assert.ok(first !== undefined && second !== undefined);
    const joined = await c.join(first.id);
    await retryUntil(
      "node 4 is a voter on the leader",
      async () => {
        const info = await c.clusterOf(leader.id);
        if (!info?.members.some((m) => m.id === joined.id && m.role === "voter")) {
          throw new Error(JSON.stringify(info?.members));
        }
      },
      60_000,
    );
    // The follower first has to know the leader's HTTP address (from the member metadata).
    const res = await retryUntil("DELETE on a follower", async () => {
      const r = await fetch(`http://${second.http}/cluster/${joined.id}`, {
        method: "DELETE",
        redirect: "manual",
      });
      if (r.status === 503) throw new Error(await r.text());
      return r;
    });
    const text = await res.text();
    assert.equal(res.status, 200, text);
    const answered = JSON.parse(text) as { leader: number; members: { id: number }[] };
    assert.equal(answered.leader, leader.id, "the answer is the leader's view");
    assert.ok(!answered.members.some((m) => m.id === joined.id), text);
    const info = await c.clusterOf(leader.id);
    assert.ok(!info?.members.some((m) => m.id === joined.id), "node 4 was removed");
  });
});
