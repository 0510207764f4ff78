// When a TCP link writes: the first frame of a stretch of synchronous sends at once, the
// ones behind it together from the microtask. Counted on the socket's write calls.
import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import { test } from "node:test";
import { QuietLogger } from "../testing/transport-conformance.js";
import { FrameKind } from "./tcp-frames.js";
import { TcpPeerLink } from "./tcp-peer-link.js";

async function connectedPair(): Promise<{ client: Socket; close: () => void }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  const client = connect(port, "127.0.0.1");
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  return {
    client,
    close: () => {
      client.destroy();
      for (const s of accepted) s.destroy();
      server.close();
    },
  };
}

test("a link writes the first frame at once and gathers the ones sent right behind it", async () => {
  const { client, close } = await connectedPair();
  const writes: number[] = [];
  const write = client.write.bind(client);
  client.write = ((chunk: Uint8Array, ...rest: never[]) => {
    writes.push(chunk.length);
    return write(chunk, ...rest);
  }) as Socket["write"];
  const noop = () => {};
  const link = new TcpPeerLink(
    2,
    "127.0.0.1:0",
    {
      maxQueueBytes: 1 << 20,
      maxQueueBatches: 64,
      maxDownQueueBytes: 1 << 20,
      maxInflightBytes: 1 << 20,
      netDelay: undefined,
    },
    { dropped: noop, written: noop, unreachable: noop, disconnected: noop, opened: noop },
    new QuietLogger(),
  );
  try {
    link.attach(client);
    await new Promise((resolve) => setImmediate(resolve));
    writes.length = 0;
    const body = new Uint8Array(10);
    link.sendBatch([body], body.length, 1);
    assert.deepEqual(writes, [15], "the first frame (header and body) was not written at once");
    link.sendBatch([body], body.length, 1);
    link.sendBatch([body], body.length, 1);
    assert.equal(writes.length, 1, "a frame behind the first was written before the microtask");
    await Promise.resolve();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(writes, [15, 30], "the two frames behind the first did not leave together");
    assert.equal(link.stats().queuedBatches, 0);
    // The next stretch starts over: its first frame leaves at once again.
    link.sendControl(FrameKind.Ping, new Uint8Array(13));
    assert.deepEqual(writes, [15, 30, 13]);
  } finally {
    link.stop();
    close();
  }
});
