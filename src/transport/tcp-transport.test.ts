import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, describe, test } from "node:test";
import {
  app,
  peerMap,
  QuietLogger,
  transportConformance,
  waitFor,
} from "../testing/transport-conformance.js";
import { TcpTransport } from "./tcp-transport.js";

transportConformance("TcpTransport", (options) => new TcpTransport(options));

const started: TcpTransport[] = [];
function tcp(options: ConstructorParameters<typeof TcpTransport>[0]): TcpTransport {
  const t = new TcpTransport({ logger: new QuietLogger(), ...options });
  started.push(t);
  return t;
}
after(async () => {
  await Promise.all(started.map((t) => t.stop()));
});

describe("TcpTransport", () => {
  test("one connection per pair of peers carries both directions", async () => {
    const peers = await peerMap(3);
    const [a, b, c] = [1, 2, 3].map((id) => tcp({ id, peers }));
    const got = new Map<number, number>([
      [1, 0],
      [2, 0],
      [3, 0],
    ]);
    for (const t of [a!, b!, c!]) {
      await t.start((batch) => got.set(t.id, got.get(t.id)! + batch.messages.length));
    }
    for (let i = 0; i < 20; i++) {
      a!.send({ start: 1, iteration: 0 }, [app(1, 2, i), app(1, 3, i)]);
      b!.send({ start: 1, iteration: 0 }, [app(2, 1, i), app(2, 3, i)]);
      c!.send({ start: 1, iteration: 0 }, [app(3, 1, i), app(3, 2, i)]);
    }
    await waitFor("every message", () => [...got.values()].every((n) => n === 40));
    for (const t of [a!, b!, c!]) {
      for (const other of [1, 2, 3].filter((id) => id !== t.id)) {
        assert.equal(t.linkStats(other)!.connections, 1, `${t.id} to ${other}`);
      }
    }
  });

  test("the accepting side's queue waits for the dialer to come back", async () => {
    const peers = await peerMap(2);
    const b = tcp({ id: 2, peers });
    const unreachable: number[] = [];
    b.onUnreachable((id) => unreachable.push(id));
    await b.start(() => {});
    for (let round = 0; round < 2; round++) {
      // Peer 1 (the dialing side) is down: peer 2 queues and reports it unreachable.
      b.send({ start: 1, iteration: 0 }, [app(2, 1, round * 10)]);
      await waitFor("an unreachable report", () => unreachable.includes(1));
      const got: number[] = [];
      const a = tcp({ id: 1, peers, backoffMaxMs: 100 });
      await a.start((batch) => {
        for (const m of batch.messages) got.push(m.index);
      });
      b.send({ start: 1, iteration: 0 }, [app(2, 1, round * 10 + 1)]);
      await waitFor("the queued and the new message", () => got.length === 2);
      assert.deepEqual(got, [round * 10, round * 10 + 1]);
      unreachable.length = 0;
      await a.stop();
      // What is written before peer 2 notices the close is lost with the connection.
      await waitFor("peer 2 to notice", () => b.linkStats(1)!.state === "down");
    }
  });

  test("a stranger on the port is shut out and the listener keeps serving", async () => {
    const peers = await peerMap(2);
    const logger = new QuietLogger();
    const b = tcp({ id: 2, peers, logger });
    const got: number[] = [];
    await b.start((batch) => {
      for (const m of batch.messages) got.push(m.index);
    });
    const [host, port] = peers.get(2)!.split(":");
    const stranger = connect(Number(port), host);
    await new Promise<void>((resolve) => stranger.once("connect", () => resolve()));
    stranger.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    await new Promise<void>((resolve) => stranger.once("close", () => resolve()));
    assert.ok(
      logger.lines.some((l) => /closing the connection/.test(l)),
      logger.lines.join("\n"),
    );
    const a = tcp({ id: 1, peers });
    await a.start(() => {});
    a.send({ start: 1, iteration: 0 }, [app(1, 2, 7)]);
    await waitFor("a delivery after the stranger", () => got.includes(7));
  });

  test("bad configuration is refused with a message saying what to change", () => {
    const peers = new Map([
      [1, "127.0.0.1:7001"],
      [2, "127.0.0.1:7002"],
    ]);
    assert.throws(() => new TcpTransport({ id: 3, peers }), /id 3 is not in the peer list/);
    assert.throws(
      () => new TcpTransport({ id: 1, peers: new Map([[1, "localhost"]]) }),
      /"localhost" is not host:port/,
    );
    assert.throws(() => new TcpTransport({ id: 1, peers, maxQueueBatches: 0 }), /maxQueueBatches/);
  });
});
