import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MessageType, makeMessage } from "../raft/types.js";
import { GrpcTransport } from "./grpc-transport.js";
import { LocalNetwork } from "./local-transport.js";
import { processTransportKinds, transportKinds, transportSpec } from "./registry.js";
import { TcpTransport } from "./tcp-transport.js";
import type { InboundBatch } from "./transport.js";

describe("transport registry", () => {
  test("an unknown kind is refused with the list of kinds", () => {
    assert.deepEqual(transportKinds, ["grpc", "tcp", "local"]);
    assert.deepEqual(processTransportKinds, ["grpc", "tcp"]);
    assert.throws(
      () => transportSpec("udp"),
      /unknown transport "udp": use one of grpc, tcp, local/,
    );
  });

  test("the local kind connects peers created from it on one network", async () => {
    const network = new LocalNetwork();
    const peers = new Map([
      [1, "a:1"],
      [2, "b:2"],
    ]);
    const spec = transportSpec("local");
    const one = spec.create({ id: 1, peers, localNetwork: network });
    const two = spec.create({ id: 2, peers, localNetwork: network });
    const got: InboundBatch[] = [];
    await one.start(() => {});
    await two.start((batch) => got.push(batch));
    one.send({ start: 1, iteration: 1 }, [
      makeMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2 }),
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(got.length, 1);
    assert.equal(got[0]!.from, 1);
  });

  test("the grpc kind builds a GrpcTransport for the given peer", () => {
    const peers = new Map([[1, "127.0.0.1:7001"]]);
    const t = transportSpec("grpc").create({ id: 1, peers, maxMessageBytes: 1 << 20 });
    assert.ok(t instanceof GrpcTransport);
    assert.equal((t as GrpcTransport).address, "127.0.0.1:7001");
  });

  test("the tcp kind builds a TcpTransport for the given peer", () => {
    const peers = new Map([[1, "127.0.0.1:7001"]]);
    const t = transportSpec("tcp").create({ id: 1, peers });
    assert.ok(t instanceof TcpTransport);
    assert.equal((t as TcpTransport).address, "127.0.0.1:7001");
  });
});
