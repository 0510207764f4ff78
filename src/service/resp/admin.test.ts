// RAFTTOY.PARTITION / HEAL / FAULTS through a real client: refused without a switch, and
// with one they set exactly the cut the switch then applies.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { Redis } from "ioredis";
import { MemoryBackend } from "../../testing/memory-kv-backend.js";
import { FaultSwitch } from "../../transport/fault-switch.js";
import { RespServer } from "./server.js";

const servers: RespServer[] = [];
const clients: Redis[] = [];
after(async () => {
  for (const c of clients) c.disconnect();
  await Promise.all(servers.map((s) => s.close()));
});

async function connectTo(faults?: FaultSwitch): Promise<Redis> {
  const server = new RespServer({
    backend: new MemoryBackend(),
    readMode: "linearizable",
    ...(faults === undefined ? {} : { faults }),
  });
  servers.push(server);
  const { port } = await server.listen("127.0.0.1", 0);
  const c = new Redis({
    port,
    host: "127.0.0.1",
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  clients.push(c);
  return c;
}

describe("fault-injection admin commands", () => {
  it("are refused with one line naming the flag when the node has no switch", async () => {
    const c = await connectTo();
    for (const args of [["RAFTTOY.PARTITION", "2"], ["RAFTTOY.HEAL"], ["RAFTTOY.FAULTS"]]) {
      await assert.rejects(c.call(args[0] as string, ...args.slice(1)), /--admin-faults/);
    }
  });

  it("cut, list and heal the switch's peers; bad ids and this node's own id are refused", async () => {
    const faults = new FaultSwitch();
    const c = await connectTo(faults);
    assert.equal(await c.call("RAFTTOY.PARTITION", "3", "2"), "OK");
    assert.deepEqual(faults.isolated, [2, 3]);
    assert.equal(faults.blocks(2), true);
    assert.deepEqual(await c.call("RAFTTOY.FAULTS"), [2, 3]);
    // The memory backend is node 1.
    await assert.rejects(c.call("RAFTTOY.PARTITION", "2", "1"), /cannot be cut off from itself/);
    await assert.rejects(c.call("RAFTTOY.PARTITION", "x"), /not a node id: 'x'/);
    await assert.rejects(c.call("RAFTTOY.PARTITION"), /wrong number of arguments/);
    assert.deepEqual(faults.isolated, [2, 3], "a refused command changes nothing");
    assert.equal(await c.call("rafttoy.heal"), "OK");
    assert.deepEqual(faults.isolated, []);
    assert.deepEqual(await c.call("RAFTTOY.FAULTS"), []);
  });
});
