// The key-value service as users run it: real rafttoy-kv processes on loopback (default
// durable storage), driven by redis-cli, ioredis and fetch. Faults are real: SIGKILL.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { KvCluster } from "../cmd/kv-cluster.js";
import { retryUntil } from "../testing/retry.js";

const run = promisify(execFile);

async function cli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await run("redis-cli", ["-p", String(port), ...args], { timeout: 20_000 });
  return stdout.trim();
}

function client(port: number, commandTimeout?: number): Redis {
  return new Redis({
    port,
    host: "127.0.0.1",
    maxRetriesPerRequest: 0,
    // A command that times out is retried by the test on a fresh connection (below).
    ...(commandTimeout === undefined ? { retryStrategy: () => null } : { commandTimeout }),
  });
}

describe("rafttoy-kv processes: forwarding, leader kill, restarts", () => {
  let c: KvCluster;
  before(async () => {
    c = await KvCluster.start();
  });
  after(() => c?.stop());

  it("serves redis-cli on every node; a follower forwards writes to the leader", async () => {
    const follower = await c.follower();
    assert.equal(await cli(follower.respPort, "set", "fwd", "from-follower"), "OK");
    for (const n of c.running()) {
      assert.equal(await cli(n.respPort, "get", "fwd"), "from-follower", `node ${n.id}`);
    }
    assert.equal(await cli(follower.respPort, "rpush", "q", "a", "b"), "2");
    assert.equal(await cli((await c.leader()).respPort, "lpop", "q"), "a");
    const res = await fetch(`http://${follower.http}/kv/fwd`);
    assert.equal(await res.text(), "from-follower");
  });

  it("resumes writes through a survivor after the leader is SIGKILLed, and the node catches up", async () => {
    const leader = await c.leader();
    const survivor = (await c.follower()).id;
    const redis = client(c.node(survivor).respPort);
    try {
      assert.equal(await redis.set("before-kill", "1"), "OK");
      await c.kill(leader.id, "SIGKILL");
      const t0 = Date.now();
      // Each try gives up after 500 ms (a write forwarded to the dead leader may wait for the
      // backend's own timeout): the time measured is when a new write first succeeds.
      await retryUntil("a write through a survivor", async () => {
        const once = client(c.node(survivor).respPort, 500);
        try {
          return await once.set("after-kill", "1");
        } finally {
          once.disconnect();
        }
      });
      process.stdout.write(`# writes resumed ${Date.now() - t0} ms after the leader's SIGKILL\n`);
      assert.equal(await redis.get("before-kill"), "1");
      await c.restart(leader.id);
      const back = client(c.node(leader.id).respPort);
      try {
        assert.equal(
          await retryUntil("the restarted node reads", () => back.get("after-kill")),
          "1",
        );
      } finally {
        back.disconnect();
      }
    } finally {
      redis.disconnect();
    }
  });

  it("keeps every acknowledged write across a SIGKILL of the whole cluster", async () => {
    const leader = await c.leader();
    const redis = client(leader.respPort);
    const p = redis.pipeline();
    for (let i = 0; i < 500; i++) p.set(`durable:${i}`, `v${i}`);
    const acked = await p.exec();
    assert.ok(acked?.every(([err, v]) => err === null && v === "OK"));
    redis.disconnect();
    await Promise.all([...c.nodes.keys()].map((id) => c.kill(id, "SIGKILL")));
    await Promise.all([...c.nodes.keys()].map((id) => c.restart(id)));
    const any = client(c.node(2).respPort);
    try {
      const values = await retryUntil("reads after the restart", async () => {
        const v = await any.mget(...Array.from({ length: 500 }, (_, i) => `durable:${i}`));
        if (v.some((x) => x === null))
          throw new Error(`${v.filter((x) => x === null).length} keys missing`);
        return v;
      });
      assert.deepEqual(
        values,
        Array.from({ length: 500 }, (_, i) => `v${i}`),
      );
    } finally {
      any.disconnect();
    }
  });

  it("joins a fourth node under load, started with only --join, --listen and --id, then removes it", async () => {
    const leader = await c.leader();
    const writer = client(leader.respPort);
    let writes = 0;
    let stop = false;
    const load = (async () => {
      while (!stop) {
        await writer.set(`load:${writes % 1000}`, String(writes)).catch(() => undefined);
        writes++;
      }
    })();
    try {
      const joined = await c.join(leader.id, { listenOnly: true });
      await retryUntil(
        "node 4 is a voter",
        async () => {
          const info = await c.clusterOf(joined.id);
          if (!info?.members.some((m) => m.id === joined.id && m.role === "voter")) {
            throw new Error(JSON.stringify(info?.members));
          }
        },
        60_000,
      );
      const four = client(joined.respPort);
      try {
        assert.equal(await retryUntil("a write on node 4", () => four.set("on-four", "yes")), "OK");
      } finally {
        four.disconnect();
      }
      const res = await fetch(`http://${leader.http}/cluster/${joined.id}`, { method: "DELETE" });
      assert.equal(res.status, 200, await res.text());
      const info = await c.clusterOf(leader.id);
      assert.ok(!info?.members.some((m) => m.id === joined.id), "node 4 was removed");
    } finally {
      stop = true;
      await load;
      writer.disconnect();
    }
    assert.ok(writes > 0);
    assert.equal(await cli(leader.respPort, "get", "on-four"), "yes");
  });
});

describe("rafttoy-kv processes: --redirect", () => {
  let c: KvCluster;
  before(async () => {
    c = await KvCluster.start({ args: ["--redirect"] });
  });
  after(() => c?.stop());

  it("answers MOVED from a follower, which redis-cli -c follows, and 307 over HTTP", async () => {
    const follower = await c.follower();
    const leader = await c.leader();
    // The leader announces its client addresses through the log once it leads: until the
    // follower has applied that, it cannot say where to go (CLUSTERDOWN, retried by clients).
    await retryUntil("the follower knows the leader's RESP address", async () => {
      const info = await c.clusterOf(follower.id);
      if (info?.members.find((m) => m.id === leader.id)?.resp !== leader.resp)
        throw new Error("not yet");
    });
    const moved = await cli(follower.respPort, "set", "r", "1");
    assert.equal(moved, `MOVED 0 ${leader.resp}`);
    assert.equal(await cli(follower.respPort, "-c", "set", "r", "2"), "OK");
    assert.equal(await cli(leader.respPort, "get", "r"), "2");
    const res = await fetch(`http://${follower.http}/kv/r`, {
      method: "PUT",
      body: "3",
      redirect: "manual",
    });
    assert.equal(res.status, 307);
    assert.equal(res.headers.get("location"), `http://${leader.http}/kv/r`);
    // fetch follows a 307 with the same method and body.
    assert.equal(
      (await fetch(`http://${follower.http}/kv/r`, { method: "PUT", body: "4" })).status,
      204,
    );
    assert.equal(await cli(follower.respPort, "get", "r"), "4");
  });
});
