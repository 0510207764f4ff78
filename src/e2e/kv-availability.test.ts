// Availability of rafttoy-kv with one of three nodes down (issue 9 item 6): real processes on
// loopback, a follower SIGKILLed and restarted twice under writes and linearizable reads,
// and the writes through the leader and through the other follower must keep succeeding.
// The bound asserted is generous (a loaded 2-core machine); the defect it guards against
// stopped writes for 10-25 s.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { KvCluster } from "../cmd/kv-cluster.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Values large enough that the restarted follower's lag spans several full appends. */
const VALUE = "v".repeat(1000);

/** No write may wait longer than this for the next one to succeed. */
const MAX_GAP_MS = 5000;

function client(port: number): Redis {
  return new Redis({
    port,
    host: "127.0.0.1",
    maxRetriesPerRequest: 0,
    commandTimeout: 1000,
    retryStrategy: () => 50,
  });
}

/** A loop of SETs through one node, remembering the longest wait between two successes. */
class Writer {
  private readonly redis: Redis;
  private stopped = false;
  private last = Date.now();
  ok = 0;
  longestGapMs = 0;
  private readonly done: Promise<void>;

  constructor(port: number, name: string) {
    const redis = client(port);
    this.redis = redis;
    this.done = (async () => {
      let i = 0;
      while (!this.stopped) {
        try {
          await redis.set(`${name}:${i++ % 100}`, VALUE);
          const now = Date.now();
          this.longestGapMs = Math.max(this.longestGapMs, now - this.last);
          this.last = now;
          this.ok++;
        } catch {
          await sleep(20);
        }
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
    this.longestGapMs = Math.max(this.longestGapMs, Date.now() - this.last);
    this.redis.disconnect();
  }
}

/** Linearizable GETs in a loop: each waits for a ReadIndex round (a heartbeat to everyone). */
function readLoad(port: number, stop: () => boolean): Promise<void> {
  const redis = client(port);
  return (async () => {
    while (!stop()) await redis.get("r").catch(() => sleep(20));
    redis.disconnect();
  })();
}

describe("rafttoy-kv processes: one follower down", () => {
  let c: KvCluster;
  before(async () => {
    c = await KvCluster.start();
  });
  after(() => c?.stop());

  it("keeps taking writes through the leader and the other follower while a follower is SIGKILLed, restarted and killed again", async () => {
    // Every node serving (a node that died at start says why), and one leader they agree on.
    await Promise.all([...c.nodes.keys()].map((id) => c.waitServing(id)));
    const leader = await c.leader();
    const [victim, other] = c.running().filter((n) => n !== leader);
    assert.ok(victim !== undefined && other !== undefined, "three nodes run");
    const writers = [
      new Writer(leader.respPort, "via-leader"),
      new Writer(other.respPort, "via-f"),
    ];
    // More writers through both, so the follower is far behind when it comes back.
    const load = [0, 1, 2, 3].map((i) => new Writer((i % 2 ? other : leader).respPort, `load${i}`));
    let stopReads = false;
    const readers = [leader, other, leader, other].map((n) =>
      readLoad(n.respPort, () => stopReads),
    );
    try {
      await sleep(1000);
      for (let round = 0; round < 2; round++) {
        await c.kill(victim.id, "SIGKILL");
        await sleep(3000);
        await c.restart(victim.id);
        await sleep(1500);
      }
    } finally {
      stopReads = true;
      await Promise.all([...writers, ...load].map((w) => w.stop()));
      await Promise.all(readers);
    }
    const [viaLeader, viaFollower] = writers as [Writer, Writer];
    process.stdout.write(
      `# longest wait between successful writes: via the leader ${viaLeader.longestGapMs} ms (${viaLeader.ok} ok), via the other follower ${viaFollower.longestGapMs} ms (${viaFollower.ok} ok)\n`,
    );
    for (const [what, w] of [
      ["through the leader", viaLeader],
      ["through the other follower", viaFollower],
    ] as const) {
      assert.ok(w.ok > 0, `no write ${what} succeeded`);
      assert.ok(
        w.longestGapMs < MAX_GAP_MS,
        `writes ${what} stopped for ${w.longestGapMs} ms (bound ${MAX_GAP_MS} ms)`,
      );
    }
  });
});

describe("rafttoy-kv processes: the leader down", () => {
  let c: KvCluster;
  before(async () => {
    c = await KvCluster.start();
  });
  after(() => c?.stop());

  it("answers a write forwarded to a leader that dies within an election or two, not after the 10 s write timeout", async () => {
    const leader = await c.leader();
    const follower = (await c.follower()).id;
    const redis = new Redis({
      port: c.node(follower).respPort,
      host: "127.0.0.1",
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    try {
      assert.equal(await redis.set("before", "1"), "OK");
      // Stopped, the leader takes the forwarded write into its socket and never answers.
      c.node(leader.id).child?.kill("SIGSTOP");
      const t0 = Date.now();
      const answer = redis.set("in-flight", "1").then(
        (ok) => ok,
        (err: Error) => err.message,
      );
      await sleep(200);
      await c.kill(leader.id, "SIGKILL");
      const reply = await answer;
      const ms = Date.now() - t0;
      process.stdout.write(
        `# a write forwarded to the dying leader was answered after ${ms} ms: ${reply}\n`,
      );
      // OK if the new leader inherited it, else an outcome-unknown error naming the leader.
      assert.ok(reply === "OK" || /TIMEOUT .*replaced/.test(reply), reply);
      assert.ok(ms < 7000, `answered after ${ms} ms`);
    } finally {
      redis.disconnect();
    }
  });
});
