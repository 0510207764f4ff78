import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { pipelineKinds, pipelineSpec } from "../pipeline/registry.js";
import { eventually, ServiceCluster, sleep } from "../testing/service-cluster.js";
import { BackendError, type KvBackend, type KvWrite } from "./contract.js";
import type { NodeBackend } from "./node-backend.js";

const enc = new TextEncoder();
const dec = new TextDecoder();
const set = (k: string, v: string): KvWrite => ({
  op: "set",
  key: enc.encode(k),
  value: enc.encode(v),
});

async function get(b: KvBackend, k: string, mode: "linearizable" | "stale" = "linearizable") {
  const v = (await b.read(mode)).get(enc.encode(k));
  return v === null ? null : dec.decode(v);
}

/** Errors after which a client retries: the request was not acknowledged (a leader change). */
const TRANSIENT: ReadonlySet<string> = new Set(["no-leader", "timeout", "unavailable"]);

/**
 * Calls `f` again after a transient BackendError, as a client would while leadership moves
 * (a loaded machine can miss an election timeout mid-test); any other error, or a transient
 * one after `attempts`, is thrown.
 */
async function asClient<T>(f: () => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await f();
    } catch (e) {
      if (!(e instanceof BackendError && TRANSIENT.has(e.code)) || attempt === attempts) throw e;
      await sleep(100);
    }
  }
}

/**
 * Joins `member` through `leader`, and again through the next leader when leadership moves
 * meanwhile (a loaded machine can miss an election timeout), as a client of
 * `POST /cluster/join` would. Returns the node the join succeeded through.
 */
async function joinThroughLeader(
  c: ServiceCluster,
  leader: NodeBackend,
  member: Parameters<NodeBackend["join"]>[0],
): Promise<NodeBackend> {
  // The joiner runs but is no member yet, so c.leader() (every running node agrees) won't do.
  const currentLeader = () =>
    [...c.nodes.values()].find((n) => n.id !== member.id && n.cluster().role === "leader");
  let via = leader;
  for (let attempt = 1; ; attempt++) {
    try {
      await via.join(member);
      return via;
    } catch (e) {
      const moved = e instanceof BackendError && (e.code === "moved" || e.code === "no-leader");
      if (!moved || attempt === 5) throw e;
      await eventually("a leader to join through", () => currentLeader() !== undefined);
      via = currentLeader()!;
    }
  }
}

describe("NodeBackend over three service-mode peers", () => {
  let c: ServiceCluster;
  before(async () => {
    c = await ServiceCluster.start(3);
  });
  after(async () => {
    await c.stop();
  });

  it("elects a leader without an epoch owner", async () => {
    const leader = await c.leader();
    const info = leader.cluster();
    assert.equal(info.role, "leader");
    assert.deepEqual(
      info.members.map((m) => [m.id, m.role]),
      [
        [1, "voter"],
        [2, "voter"],
        [3, "voter"],
      ],
    );
  });

  it("applies writes submitted on a follower and returns their results", async () => {
    const f = await c.follower();
    assert.deepEqual(await f.write(set("a", "1")), { kind: "ok" });
    assert.deepEqual(
      await f.write({ op: "set", key: enc.encode("a"), value: enc.encode("2"), condition: "nx" }),
      {
        kind: "not-set",
      },
    );
    assert.deepEqual(await f.write({ op: "incrby", key: enc.encode("n"), by: 5n }), {
      kind: "integer",
      value: 5n,
    });
    const results = await f.writeBatch([
      set("b", "x"),
      { op: "incrby", key: enc.encode("n"), by: 2n },
      { op: "incrby", key: enc.encode("b"), by: 1n },
      { op: "del", keys: [enc.encode("a"), enc.encode("zz")] },
    ]);
    const refused = results[2];
    assert.ok(refused?.kind === "error" && refused.code === "not-integer", JSON.stringify(refused));
    assert.deepEqual(
      [results[0], results[1], results[3]],
      [{ kind: "ok" }, { kind: "integer", value: 7n }, { kind: "integer", value: 1n }],
    );
  });

  it("a linearizable read after an acknowledged write sees it, on every node", async () => {
    for (const writer of c.nodes.values()) {
      const value = `from-${writer.id}`;
      // Only an acknowledged write counts; setting the same value again is harmless.
      assert.deepEqual(await asClient(() => writer.write(set("k", value))), { kind: "ok" });
      for (const reader of c.nodes.values()) {
        assert.equal(
          await asClient(() => get(reader, "k")),
          value,
          `node ${reader.id} after a write via ${writer.id}`,
        );
      }
    }
  });

  it("answers many concurrent reads, on a follower too", async () => {
    const f = await c.follower();
    await f.write(set("r", "v"));
    const views = await Promise.all(Array.from({ length: 200 }, () => f.read("linearizable")));
    for (const v of views) assert.equal(dec.decode(v.get(enc.encode("r"))!), "v");
  });

  it("records every member's client addresses", async () => {
    const leader = await c.leader();
    const until = Date.now() + 10_000;
    while (leader.cluster().members.some((m) => m.resp === undefined) && Date.now() < until) {
      await sleep(10);
    }
    const m2 = leader.cluster().members.find((m) => m.id === 2)!;
    assert.equal(m2.resp, "127.0.0.1:6002");
    assert.equal(m2.http, "127.0.0.1:8002");
  });

  it("after the leader stops, a new one is elected and writes via survivors succeed", async () => {
    const old = await c.leader();
    await c.stopNode(old.id);
    const leader = await c.leader();
    assert.notEqual(leader.id, old.id);
    const survivor = await c.follower();
    assert.deepEqual(await survivor.write(set("after", "failover")), { kind: "ok" });
    assert.equal(await get(leader, "after"), "failover");
    await c.startNode(old.id, true);
    const back = c.node(old.id);
    assert.equal(await get(back, "after"), "failover");
  });
});

describe("NodeBackend without a quorum", () => {
  it("answers no-leader in bounded time, never hangs", async () => {
    const c = await ServiceCluster.start(3);
    try {
      const leader = await c.leader();
      await leader.write(set("x", "1"));
      const survivor = [...c.nodes.values()].find((n) => n !== leader)!;
      // The survivor has applied the write before it is left alone (for the stale read below).
      assert.equal(await get(survivor, "x"), "1");
      for (const n of [...c.nodes.values()]) if (n !== survivor) await c.stopNode(n.id);
      // The survivor learns that the leader is gone within an election timeout or two.
      const until = Date.now() + 20_000;
      while (survivor.cluster().leader !== 0 && Date.now() < until) await sleep(10);
      assert.equal(survivor.healthy(), false);
      await assert.rejects(
        survivor.write(set("x", "2")),
        (e: unknown) => e instanceof BackendError && e.code === "no-leader",
      );
      await assert.rejects(
        survivor.read("linearizable"),
        (e: unknown) => e instanceof BackendError && e.code === "no-leader",
      );
      // Stale reads still answer from the local state.
      assert.equal(await get(survivor, "x", "stale"), "1");
    } finally {
      await c.stop();
    }
  });
});

describe("NodeBackend in redirect mode", () => {
  it("a follower answers moved with the leader's client addresses", async () => {
    const c = await ServiceCluster.start(3, { redirect: true });
    try {
      const leader = await c.leader();
      assert.deepEqual(await leader.write(set("a", "1")), { kind: "ok" });
      const f = await c.follower();
      const until = Date.now() + 10_000;
      while (f.cluster().members.some((m) => m.resp === undefined) && Date.now() < until)
        await sleep(10);
      await assert.rejects(f.write(set("a", "2")), (e: unknown) => {
        assert.ok(e instanceof BackendError);
        assert.equal(e.code, "moved");
        assert.deepEqual(e.leader, {
          id: leader.id,
          resp: `127.0.0.1:${6000 + leader.id}`,
          http: `127.0.0.1:${8000 + leader.id}`,
        });
        return true;
      });
      assert.equal(await get(f, "a"), "1");
    } finally {
      await c.stop();
    }
  });
});

describe("NodeBackend membership", () => {
  it("joins a 4th node as a learner, catches it up by snapshot, promotes it, then removes one", async () => {
    const c = await ServiceCluster.start(3, { compactEvery: { unit: "entries", n: 100 } });
    try {
      const leader = await c.leader();
      // More than DURABLE_LAG_INTERVALS (10) intervals of 100: compaction then asks the lmdb
      // engine for a write-back at once instead of waiting for its 30 s timer.
      for (let i = 0; i < 60; i++) {
        await leader.writeBatch(Array.from({ length: 20 }, (_, j) => set(`k${i}-${j}`, "v")));
      }
      const leaderStorage = c.storages.get(leader.id)!;
      await eventually("the leader compacted its log", () => leaderStorage.firstIndex() > 1);
      const joiner = await c.startNode(4, false);
      assert.equal(
        joiner.cluster().members.length,
        0,
        "a joining node starts with no configuration",
      );
      const via = await joinThroughLeader(c, leader, {
        id: 4,
        raft: "local:4",
        resp: "127.0.0.1:6004",
      });
      const info = via.cluster();
      assert.deepEqual(
        info.members.map((m) => [m.id, m.role]),
        [
          [1, "voter"],
          [2, "voter"],
          [3, "voter"],
          [4, "voter"],
        ],
      );
      assert.equal(info.members.find((m) => m.id === 4)!.resp, "127.0.0.1:6004");
      // Every node learnt where node 4's Raft endpoint is, not only the leader.
      for (const id of [1, 2, 3]) {
        await eventually(
          `node ${id} learnt node 4's address`,
          () => c.learned.get(id)?.get(4) === "local:4",
        );
      }
      // It was caught up from a snapshot: its log begins after the compacted prefix.
      assert.ok(c.storages.get(4)!.firstIndex() > 1, "node 4's log starts after a snapshot");
      // ... and the snapshot carried the keys written before it joined.
      const joined = await joiner.read("stale");
      assert.equal(joined.size(), 1200);
      assert.equal(dec.decode(joined.get(enc.encode("k0-0"))!), "v");
      await eventually("node 4 knows it is a voter", () =>
        joiner.cluster().members.some((m) => m.id === 4 && m.role === "voter"),
      );
      // It counts: with two of the four down, the other two cannot commit; with one, they can.
      const other = [1, 2, 3].find((id) => id !== via.id)!;
      await c.stopNode(other);
      assert.deepEqual(await joiner.write(set("with-4", "yes")), { kind: "ok" });
      assert.equal(await get(joiner, "with-4"), "yes");
      const now = await c.leader();
      await now.remove(other);
      assert.deepEqual(
        now.cluster().members.map((m) => m.id),
        [1, 2, 3, 4].filter((id) => id !== other),
      );
      await assert.rejects(
        now.remove(other),
        (e: unknown) => e instanceof BackendError && e.code === "bad-request",
      );
    } finally {
      await c.stop();
    }
  });

  it("a join waiting for a learner ends when this node loses leadership", {
    timeout: 60_000,
  }, async () => {
    const c = await ServiceCluster.start(3);
    try {
      const leader = await c.leader();
      // Node 4 is never started, so it never catches up: the join waits (for up to two
      // minutes) until the leader, cut off from both followers, steps down.
      const join = leader.join({ id: 4, raft: "local:4" });
      await eventually("node 4 is a learner", () =>
        leader.cluster().members.some((m) => m.id === 4 && m.role === "learner"),
      );
      for (const id of [1, 2, 3]) if (id !== leader.id) await c.stopNode(id);
      await assert.rejects(join, (e: unknown) => {
        assert.ok(e instanceof BackendError, String(e));
        assert.ok(e.code === "no-leader" || e.code === "moved", e.message);
        return true;
      });
    } finally {
      await c.stop();
    }
  });

  it("over TCP on loopback: a 4th node joins, and a new leader reaches it", async () => {
    const c = await ServiceCluster.start(3, { transport: "tcp" });
    try {
      const leader = await c.leader();
      await leader.write(set("before", "join"));
      const joiner = await c.startNode(4, false);
      const via = await joinThroughLeader(c, leader, { id: 4, raft: c.raftAddress(4) });
      assert.equal(await get(joiner, "before"), "join");
      // Node 4 is dialled by the others (lower ids dial higher ones over TCP): after the
      // leader stops, the new leader must have learnt its address to replicate to it.
      await c.stopNode(via.id);
      const next = await c.leader();
      assert.deepEqual(await next.write(set("after", "failover")), { kind: "ok" });
      assert.equal(await get(joiner, "after"), "failover");
    } finally {
      await c.stop();
    }
  });

  it("a restarted node resumes from its data directory", async () => {
    const c = await ServiceCluster.start(3);
    try {
      const leader = await c.leader();
      await leader.write(set("durable", "1"));
      const f = await c.follower();
      assert.equal(await get(f, "durable"), "1");
      const applied = f.cluster().appliedIndex;
      await c.stopNode(f.id);
      const back = await c.startNode(f.id, true);
      // Straight from its own storage, before it hears from anyone.
      assert.equal(await get(back, "durable", "stale"), "1");
      const info = back.cluster();
      assert.ok(
        info.appliedIndex >= applied,
        `applied ${info.appliedIndex} resumed from ${applied}`,
      );
      assert.equal(info.members.length, 3);
      // Writes need the node to know the leader again; how fast it learns that is the
      // election tests' business, not this one's (a 200 ms bound failed under load).
      await c.leader();
      assert.deepEqual(await back.write(set("durable", "2")), { kind: "ok" });
      assert.equal(await get(back, "durable"), "2");
      // The whole cluster stopped and started again: an election, and the data is there.
      for (const id of [1, 2, 3]) await c.stopNode(id);
      await Promise.all([1, 2, 3].map((id) => c.startNode(id, true)));
      await c.leader();
      for (const n of c.nodes.values()) assert.equal(await get(n, "durable"), "2", `node ${n.id}`);
      assert.deepEqual(await (await c.follower()).write(set("durable", "3")), { kind: "ok" });
    } finally {
      await c.stop();
    }
  });
});

describe("NodeBackend on every pipeline", () => {
  it("refuses a pipeline whose followers do not apply", async () => {
    await assert.rejects(
      ServiceCluster.start(1, { pipeline: "async-apply-early-ack-lazy-follower" }),
      /leaves followers' state unapplied/,
    );
  });
  for (const pipeline of pipelineKinds.filter((p) => !pipelineSpec(p).lazyFollowers)) {
    it(`${pipeline}: a write via a follower, then linearizable reads on every node`, async () => {
      const c = await ServiceCluster.start(3, { pipeline });
      try {
        const f = await c.follower();
        const results = await f.writeBatch([
          set("p", pipeline),
          { op: "incrby", key: enc.encode("n"), by: 3n },
        ]);
        assert.deepEqual(results, [{ kind: "ok" }, { kind: "integer", value: 3n }]);
        for (const n of c.nodes.values()) assert.equal(await get(n, "p"), pipeline, `node ${n.id}`);
      } finally {
        await c.stop();
      }
    });
  }
});
