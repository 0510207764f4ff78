// The RESP2 server over an in-process backend, driven by a maintained client (ioredis) and
// by raw sockets for what a client library never sends (split frames, malformed input).
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { Redis } from "ioredis";
import { MemoryBackend } from "../../testing/memory-kv-backend.js";
import { RespServer } from "./server.js";

async function start(
  backend: MemoryBackend,
  extra: Partial<ConstructorParameters<typeof RespServer>[0]> = {},
) {
  const server = new RespServer({ backend, readMode: "linearizable", ...extra });
  const { port } = await server.listen("127.0.0.1", 0);
  return { server, port };
}

function client(port: number): Redis {
  return new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0, retryStrategy: () => null });
}

/** Sends `data` (all at once, or one byte per write) and collects replies until `until` matches. */
async function raw(
  port: number,
  data: Buffer,
  opts: { byteByByte?: boolean; until: (text: string) => boolean },
): Promise<{ text: string; closed: boolean }> {
  const socket: Socket = connect(port, "127.0.0.1");
  socket.setNoDelay(true);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  let text = "";
  let closed = false;
  const done = new Promise<void>((resolve) => {
    socket.on("data", (c: Buffer) => {
      text += c.toString("latin1");
      if (opts.until(text)) resolve();
    });
    socket.on("close", () => {
      closed = true;
      resolve();
    });
  });
  if (opts.byteByByte) {
    for (let i = 0; i < data.length; i++) {
      socket.write(data.subarray(i, i + 1));
      await new Promise((r) => setImmediate(r));
    }
  } else socket.write(data);
  await done;
  // Give a close that follows the reply a chance to arrive.
  if (!closed) await new Promise((r) => setTimeout(r, 50));
  socket.destroy();
  return { text, closed };
}

describe("RESP server with ioredis", () => {
  const backend = new MemoryBackend();
  let port = 0;
  let server: RespServer;
  let redis: Redis;
  before(async () => {
    ({ server, port } = await start(backend));
    redis = client(port);
  });
  after(async () => {
    redis.disconnect();
    await server.close();
  });

  it("answers every string command", async () => {
    assert.equal(await redis.ping(), "PONG");
    assert.equal(await redis.echo("hi"), "hi");
    assert.equal(await redis.set("a", "1"), "OK");
    assert.equal(await redis.get("a"), "1");
    assert.equal(await redis.get("missing"), null);
    assert.equal(await redis.set("a", "2", "NX"), null);
    assert.equal(await redis.set("a", "3", "XX"), "OK");
    assert.equal(await redis.set("b", "3", "XX"), null);
    assert.equal(await redis.get("a"), "3");
    assert.equal(await redis.exists("a", "b", "a"), 2);
    assert.equal(await redis.mset("m1", "x", "m2", "y"), "OK");
    assert.deepEqual(await redis.mget("m1", "nope", "m2"), ["x", null, "y"]);
    assert.equal(await redis.incr("n"), 1);
    assert.equal(await redis.incrby("n", 41), 42);
    assert.equal(await redis.incrby("n", -2), 40);
    await assert.rejects(redis.incr("m1"), /not an integer/);
    await assert.rejects(redis.incrby("n", "x" as unknown as number), /not an integer/);
    assert.deepEqual((await redis.keys("m*")).sort(), ["m1", "m2"]);
    assert.equal(await redis.dbsize(), 4);
    assert.equal(await redis.del("m1", "m2", "zz"), 2);
    assert.equal(await redis.dbsize(), 2);
  });

  it("answers the list commands as a queue", async () => {
    assert.equal(await redis.rpush("q", "a", "b"), 2);
    assert.equal(await redis.lpush("q", "z"), 3);
    assert.equal(await redis.llen("q"), 3);
    assert.equal(await redis.lpop("q"), "z");
    assert.equal(await redis.rpop("q"), "b");
    assert.equal(await redis.lpop("q"), "a");
    assert.equal(await redis.lpop("q"), null);
    assert.equal(await redis.llen("q"), 0);
    await redis.set("s", "v");
    await assert.rejects(redis.lpush("s", "x"), /WRONGTYPE/);
    await assert.rejects(redis.llen("s"), /WRONGTYPE/);
    await redis.rpush("l", "x");
    await assert.rejects(redis.get("l"), /WRONGTYPE/);
  });

  it("keeps keys and values binary-safe, CRLF and every byte value included", async () => {
    const value = Buffer.alloc(256);
    for (let i = 0; i < 256; i++) value[i] = i;
    const key = Buffer.from("k\r\n\0\xff", "latin1");
    await redis.set(key, Buffer.concat([value, Buffer.from("\r\n")]));
    assert.deepEqual(await redis.getBuffer(key), Buffer.concat([value, Buffer.from("\r\n")]));
    assert.deepEqual(await redis.keysBuffer("k\r*"), [key]);
  });

  it("answers a pipeline of 1,000 commands in order, its writes in one batch", async () => {
    const batchesBefore = backend.batches.length;
    const p = redis.pipeline();
    for (let i = 0; i < 1000; i++) p.set(`p${i}`, `v${i}`);
    const results = await p.exec();
    assert.equal(results?.length, 1000);
    assert.ok(results?.every(([err, v]) => err === null && v === "OK"));
    const batches = backend.batches.slice(batchesBefore);
    assert.equal(
      batches.reduce((a, b) => a + b, 0),
      1000,
    );
    // The client writes the pipeline in one go; the kernel may still split it into chunks.
    assert.ok(batches.length < 50, `1,000 writes in ${batches.length} batches`);
    const g = redis.pipeline();
    for (let i = 0; i < 1000; i++) g.get(`p${i}`);
    const got = await g.exec();
    assert.deepEqual(
      got?.map(([, v]) => v),
      Array.from({ length: 1000 }, (_, i) => `v${i}`),
    );
  });

  it("answers what clients and tools send on their own", async () => {
    assert.deepEqual(await redis.call("COMMAND", "DOCS"), []);
    assert.deepEqual(await redis.call("CONFIG", "GET", "save"), []);
    await assert.rejects(redis.call("HELLO", "3"), /NOPROTO/);
    const hello = (await redis.call("HELLO", "2")) as unknown[];
    assert.equal(hello[5], 2);
    const info = (await redis.info()) as string;
    assert.match(info, /raft_role:leader/);
    assert.match(info, /raft_applied_index:\d+/);
    assert.match(info, /raft_members:1@127\.0\.0\.1:1,voter/);
  });

  it("answers unknown commands and wrong arity with Redis errors and keeps the connection", async () => {
    await assert.rejects(redis.call("FLUSHALL"), /ERR unknown command 'FLUSHALL'/);
    await assert.rejects(redis.call("GET"), /ERR wrong number of arguments for 'get' command/);
    await assert.rejects(redis.call("SET", "a", "b", "PX"), /ERR syntax error/);
    assert.equal(await redis.ping(), "PONG");
  });
});

describe("RESP server with raw sockets", () => {
  const backend = new MemoryBackend();
  let port = 0;
  let server: RespServer;
  before(async () => {
    ({ server, port } = await start(backend));
  });
  after(() => server.close());

  it("answers a pipeline written one byte at a time", async () => {
    const req = Buffer.from(
      "*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$4\r\na\r\nb\r\nGET k1\r\n*1\r\n$4\r\nPING\r\n",
    );
    const { text } = await raw(port, req, {
      byteByByte: true,
      until: (t) => t.endsWith("+PONG\r\n"),
    });
    assert.equal(text, "+OK\r\n$4\r\na\r\nb\r\n+PONG\r\n");
  });

  it("answers earlier commands, then a protocol error, and closes only that connection", async () => {
    const other = client(port);
    try {
      assert.equal(await other.ping(), "PONG");
      const { text, closed } = await raw(port, Buffer.from("PING\r\n*1\r\n+bad\r\nPING\r\n"), {
        until: (t) => t.includes("Protocol error"),
      });
      assert.match(text, /^\+PONG\r\n-ERR Protocol error: expected '\$', got '\+'\r\n$/);
      assert.ok(closed, "the connection was closed");
      assert.equal(await other.ping(), "PONG", "other connections are untouched");
    } finally {
      other.disconnect();
    }
  });

  it("refuses a huge bulk length as an error, not an allocation", async () => {
    const { text, closed } = await raw(port, Buffer.from("*2\r\n$3\r\nGET\r\n$9999999999999\r\n"), {
      until: (t) => t.includes("\r\n"),
    });
    assert.match(text, /^-ERR Protocol error: invalid bulk length/);
    assert.ok(closed);
  });

  it("answers QUIT with OK and closes", async () => {
    const { text, closed } = await raw(port, Buffer.from("PING\r\nQUIT\r\nPING\r\n"), {
      until: (t) => t.includes("+OK"),
    });
    assert.equal(text, "+PONG\r\n+OK\r\n");
    assert.ok(closed);
  });
});

describe("RESP server ordering and errors", () => {
  it("replies in request order when commits finish out of order", async () => {
    // The first chunk's batch takes 200 ms, the second's 0: replies must still come in order.
    const backend = new MemoryBackend({ commitDelayMs: (n) => (n === 0 ? 200 : 0) });
    const { server, port } = await start(backend);
    try {
      const socket = connect(port, "127.0.0.1");
      await new Promise<void>((r) => socket.once("connect", () => r()));
      let text = "";
      const done = new Promise<void>((resolve) =>
        socket.on("data", (c: Buffer) => {
          text += c.toString();
          if (text.split("\r\n").length > 3) resolve();
        }),
      );
      // Each command is written once the one before it reached the backend, so each is a
      // chunk (and a batch) of its own however slowly the server reads (a fixed 20 ms gap
      // let two arrive in one chunk at load ~12).
      const handedOver = async (n: number) => {
        for (let i = 0; backend.batches.length < n; i++) {
          assert.ok(i < 500, `batch ${n} never reached the backend`);
          await new Promise((r) => setTimeout(r, 5));
        }
      };
      socket.write("INCR a\r\n");
      await handedOver(1);
      socket.write("INCRBY a 10\r\n");
      await handedOver(2);
      socket.write("INCRBY a 100\r\n");
      await done;
      socket.destroy();
      assert.equal(text, ":1\r\n:11\r\n:111\r\n");
      assert.deepEqual(backend.batches, [1, 1, 1]);
    } finally {
      await server.close();
    }
  });

  it("lets a read see the writes before it on its connection and not the ones after", async () => {
    const backend = new MemoryBackend({ commitDelayMs: () => 30 });
    const { server, port } = await start(backend);
    const redis = client(port);
    try {
      const results = await redis.pipeline().set("x", "1").get("x").set("x", "2").get("x").exec();
      assert.deepEqual(
        results?.map(([, v]) => v),
        ["OK", "1", "OK", "2"],
      );
    } finally {
      redis.disconnect();
      await server.close();
    }
  });

  it("maps backend errors onto Redis errors", async () => {
    const backend = new MemoryBackend();
    const { server, port } = await start(backend);
    const redis = client(port);
    try {
      backend.fail("no-leader");
      await assert.rejects(redis.set("a", "1"), /^ReplyError: CLUSTERDOWN no leader$/);
      await assert.rejects(redis.get("a"), /CLUSTERDOWN no leader/);
      backend.fail("moved", { id: 2, resp: "127.0.0.1:7777" });
      await assert.rejects(redis.set("a", "1"), /MOVED 0 127\.0\.0\.1:7777/);
      backend.fail("timeout");
      await assert.rejects(redis.set("a", "1"), /TIMEOUT/);
      backend.fail(null);
      assert.equal(await redis.set("a", "1"), "OK");
    } finally {
      redis.disconnect();
      await server.close();
    }
  });

  it("refuses writes over the limits without proposing them", async () => {
    const backend = new MemoryBackend();
    const limits = { maxKeyBytes: 4, maxValueBytes: 8, maxKeys: 2 };
    const { server, port } = await start(backend, { limits });
    const redis = client(port);
    try {
      await assert.rejects(
        redis.set("toolong", "v"),
        /ERR limit key is 7 bytes, over --max-key-bytes 4/,
      );
      await assert.rejects(redis.set("k", "123456789"), /over --max-value-bytes 8/);
      await assert.rejects(redis.rpush("q", "123456789"), /--max-value-bytes/);
      assert.equal(backend.batches.length, 0, "nothing was proposed");
      await redis.set("k1", "v");
      await redis.set("k2", "v");
      await assert.rejects(redis.set("k3", "v"), /--max-keys 2/);
      assert.equal(await redis.set("k1", "again"), "OK", "an existing key is not a new one");
      assert.equal(await redis.dbsize(), 2);
    } finally {
      redis.disconnect();
      await server.close();
    }
  });
});
