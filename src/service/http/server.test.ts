// The HTTP front-end over an in-process backend, driven by fetch.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { MemoryBackend } from "../../testing/memory-kv-backend.js";
import { ServiceMetrics } from "../metrics.js";
import { HttpServer } from "./server.js";

async function start(
  backend: MemoryBackend,
  limits = { maxKeyBytes: 0, maxValueBytes: 0, maxKeys: 0 },
) {
  const registry = new ServiceMetrics(backend);
  const server = new HttpServer({
    backend,
    readMode: "linearizable",
    limits,
    registry,
    metrics: registry,
  });
  const { port } = await server.listen("127.0.0.1", 0);
  return { server, registry, base: `http://127.0.0.1:${port}` };
}

describe("HTTP server", () => {
  const backend = new MemoryBackend();
  let base = "";
  let server: HttpServer;
  let registry: ServiceMetrics;
  before(async () => {
    ({ server, base, registry } = await start(backend));
  });
  after(async () => {
    registry.stop();
    await server.close();
  });

  it("puts, gets and deletes keys, binary-safe, 404 when absent", async () => {
    // Every byte value (small values go out as a latin1 string body: none may change).
    const value = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 7) % 256));
    let res = await fetch(`${base}/kv/a%2Fb%0D%0A%FF`, { method: "PUT", body: value });
    assert.equal(res.status, 204);
    res = await fetch(`${base}/kv/a%2Fb%0D%0A%FF`);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), value);
    res = await fetch(`${base}/kv/a%2Fb%0D%0A%FF`, { method: "DELETE" });
    assert.deepEqual(await res.json(), { deleted: 1 });
    res = await fetch(`${base}/kv/a%2Fb%0D%0A%FF`);
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "not-found");
  });

  it("returns a value larger than one write's worth byte for byte", async () => {
    const value = Buffer.alloc(40 * 1024);
    for (let i = 0; i < value.length; i++) value[i] = (i * 31 + 7) % 256;
    assert.equal((await fetch(`${base}/kv/big`, { method: "PUT", body: value })).status, 204);
    const res = await fetch(`${base}/kv/big`);
    assert.equal(res.headers.get("content-length"), String(value.length));
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), value);
  });

  it("lists keys by prefix", async () => {
    for (const k of ["user:1", "user:2", "other"]) {
      await fetch(`${base}/kv/${k}`, { method: "PUT", body: `v-${k}` });
    }
    const res = await fetch(`${base}/kv?prefix=user:`);
    assert.deepEqual(await res.json(), {
      encoding: "utf8",
      items: [
        { key: "user:1", value: "v-user:1" },
        { key: "user:2", value: "v-user:2" },
      ],
    });
    const limited = (await (await fetch(`${base}/kv?prefix=user:&limit=1`)).json()) as {
      items: unknown[];
    };
    assert.equal(limited.items.length, 1);
  });

  it("pushes to and pops from a queue in order", async () => {
    assert.deepEqual(
      await (await fetch(`${base}/queue/jobs`, { method: "POST", body: "one" })).json(),
      {
        length: 1,
      },
    );
    await fetch(`${base}/queue/jobs`, { method: "POST", body: "two" });
    assert.equal(await (await fetch(`${base}/queue/jobs/pop`, { method: "POST" })).text(), "one");
    assert.equal(await (await fetch(`${base}/queue/jobs/pop`, { method: "POST" })).text(), "two");
    const empty = await fetch(`${base}/queue/jobs/pop`, { method: "POST" });
    assert.equal(empty.status, 404);
    assert.equal(((await empty.json()) as { error: { code: string } }).error.code, "empty");
  });

  it("serves the cluster, joins and removes members", async () => {
    const c = (await (await fetch(`${base}/cluster`)).json()) as {
      leader: number;
      members: { id: number }[];
    };
    assert.equal(c.leader, 1);
    let res = await fetch(`${base}/cluster/join`, {
      method: "POST",
      body: JSON.stringify({ id: 4, raft: "127.0.0.1:7004", http: "127.0.0.1:8004" }),
    });
    assert.equal(res.status, 200);
    const joined = (await res.json()) as { members: { id: number }[] };
    assert.deepEqual(
      joined.members.map((m) => m.id),
      [1, 4],
    );
    res = await fetch(`${base}/cluster/join`, { method: "POST", body: "{" });
    assert.equal(res.status, 400);
    res = await fetch(`${base}/cluster/4`, { method: "DELETE" });
    assert.equal(res.status, 200);
    res = await fetch(`${base}/cluster/4`, { method: "DELETE" });
    assert.equal(res.status, 400);
  });

  it("answers health 200 while the backend can serve, 503 otherwise", async () => {
    assert.equal((await fetch(`${base}/health`)).status, 200);
    backend.healthyNow = false;
    assert.equal((await fetch(`${base}/health`)).status, 503);
    backend.healthyNow = true;
  });

  it("maps no leader to 503 with Retry-After and moved to 307 with Location", async () => {
    backend.fail("no-leader");
    let res = await fetch(`${base}/kv/x`, { method: "PUT", body: "1" });
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "no-leader");
    backend.fail("moved", { id: 2, http: "127.0.0.1:9999" });
    res = await fetch(`${base}/kv/x`, { method: "PUT", body: "1", redirect: "manual" });
    assert.equal(res.status, 307);
    assert.equal(res.headers.get("location"), "http://127.0.0.1:9999/kv/x");
    backend.fail(null);
  });

  it("serves Prometheus metrics", async () => {
    await fetch(`${base}/kv/m`, { method: "PUT", body: "1" });
    const text = await (await fetch(`${base}/metrics`)).text();
    assert.match(text, /rafttoy_kv_proposals_total\{protocol="http"\} \d+/);
    assert.match(text, /rafttoy_kv_commit_latency_seconds_bucket\{le="0.001",protocol="http"\}/);
    assert.match(text, /rafttoy_kv_leader_changes_total 0/);
    assert.match(text, /rafttoy_kv_healthy 1/);
  });
});

describe("HTTP limits", () => {
  it("answers 413 and 400 naming the limit, proposing nothing", async () => {
    const backend = new MemoryBackend();
    const { server, base, registry } = await start(backend, {
      maxKeyBytes: 4,
      maxValueBytes: 8,
      maxKeys: 1,
    });
    try {
      let res = await fetch(`${base}/kv/k`, { method: "PUT", body: "123456789" });
      assert.equal(res.status, 413);
      assert.deepEqual(await res.json(), {
        error: { code: "max-value-bytes", message: "value is 9 bytes, over --max-value-bytes 8" },
      });
      res = await fetch(`${base}/kv/toolong`, { method: "PUT", body: "1" });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "max-key-bytes");
      assert.equal(backend.batches.length, 0);
      assert.equal((await fetch(`${base}/kv/k1`, { method: "PUT", body: "1" })).status, 204);
      res = await fetch(`${base}/kv/k2`, { method: "PUT", body: "1" });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "max-keys");
    } finally {
      registry.stop();
      await server.close();
    }
  });
});
