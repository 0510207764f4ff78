import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EntryType, MessageType, makeMessage } from "../raft/types.js";
import { realScheduler } from "../units/clock.js";
import { LocalNetwork } from "./local-transport.js";
import type { Epoch, InboundBatch } from "./transport.js";

const epoch: Epoch = { start: 1_700_000_000_000, iteration: 2 };

function app(from: number, to: number, index: number) {
  return makeMessage({ type: MessageType.MsgApp, from, to, index });
}

/** Lets every queued delivery and unreachable report run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
}

async function cluster(n: number, network = new LocalNetwork()) {
  const received = new Map<number, InboundBatch[]>();
  const unreachable = new Map<number, number[]>();
  const transports = [];
  for (let id = 1; id <= n; id++) {
    const t = network.transport(id);
    received.set(id, []);
    unreachable.set(id, []);
    t.onUnreachable((peer) => unreachable.get(id)!.push(peer));
    await t.start((batch) => received.get(id)!.push(batch));
    transports.push(t);
  }
  return { network, transports, received, unreachable };
}

describe("LocalTransport", () => {
  test("delivers asynchronously, one batch per destination, in order per link", async () => {
    const { transports, received } = await cluster(3);
    const [a, b] = transports;
    for (let i = 0; i < 50; i++) {
      a!.send({ start: epoch.start, iteration: i }, [app(1, 2, i), app(1, 3, i), app(1, 2, i)]);
      b!.send(epoch, [app(2, 3, i)]);
    }
    assert.equal(received.get(2)!.length, 0, "delivered inside send()");
    await settle();
    const at2 = received.get(2)!;
    assert.equal(at2.length, 50);
    at2.forEach((batch, i) => {
      assert.equal(batch.from, 1);
      assert.deepEqual(batch.epoch, { start: epoch.start, iteration: i });
      assert.deepEqual(
        batch.messages.map((m) => m.index),
        [i, i],
      );
    });
    const at3 = received.get(3)!;
    for (const from of [1, 2]) {
      const indexes = at3
        .filter((b) => b.from === from)
        .flatMap((b) => b.messages.map((m) => m.index));
      assert.deepEqual(
        indexes,
        Array.from({ length: 50 }, (_, i) => i),
        `from ${from}`,
      );
    }
    assert.deepEqual(a!.stats(), { dropped: 0, sentBatches: 100, sentMessages: 150 });
  });

  test("a cut link drops one direction, counts it and reports the peer unreachable", async () => {
    const { network, transports, received, unreachable } = await cluster(2);
    const [a, b] = transports;
    network.cutLink(1, 2);
    a!.send(epoch, [app(1, 2, 1), app(1, 2, 2)]);
    b!.send(epoch, [app(2, 1, 1)]);
    await settle();
    assert.equal(received.get(2)!.length, 0);
    assert.equal(received.get(1)!.length, 1);
    assert.equal(a!.stats().dropped, 2);
    assert.deepEqual(unreachable.get(1), [2]);
    network.healLink(1, 2);
    a!.send(epoch, [app(1, 2, 3)]);
    await settle();
    assert.deepEqual(
      received.get(2)!.flatMap((batch) => batch.messages.map((m) => m.index)),
      [3],
    );
  });

  test("a link cut while a batch is in flight drops it at delivery", async () => {
    const { network, transports, received } = await cluster(2);
    transports[0]!.send(epoch, [app(1, 2, 1)]);
    network.cut(1, 2);
    await settle();
    assert.equal(received.get(2)!.length, 0);
    assert.equal(transports[0]!.stats().dropped, 1);
  });

  test("an isolated node neither sends nor receives until it rejoins", async () => {
    const { network, transports, received } = await cluster(3);
    const [a, b, c] = transports;
    network.isolate(2);
    a!.send(epoch, [app(1, 2, 1), app(1, 3, 1)]);
    b!.send(epoch, [app(2, 1, 1), app(2, 3, 1)]);
    await settle();
    assert.equal(received.get(2)!.length, 0);
    assert.deepEqual(
      received.get(3)!.map((batch) => batch.from),
      [1],
    );
    assert.equal(received.get(1)!.length, 0);
    assert.equal(b!.stats().dropped, 2);
    network.rejoin(2);
    c!.send(epoch, [app(3, 2, 5)]);
    await settle();
    assert.equal(received.get(2)!.length, 1);
  });

  test("messages to a stopped or unknown peer are dropped and reported", async () => {
    const { transports, unreachable } = await cluster(2);
    const [a, b] = transports;
    await b!.stop();
    a!.send(epoch, [app(1, 2, 1), app(1, 7, 1)]);
    await settle();
    assert.equal(a!.stats().dropped, 2);
    assert.deepEqual([...unreachable.get(1)!].sort(), [2, 7]);
  });

  test("viaCodec hands the receiver fresh objects without local-only fields", async () => {
    const { transports, received } = await cluster(2, new LocalNetwork({ viaCodec: true }));
    const data = new Uint8Array([1, 2, 3]);
    const sent = makeMessage({
      type: MessageType.MsgApp,
      from: 1,
      to: 2,
      entries: [{ term: 1, index: 1, type: EntryType.Normal, data }],
      vote: 3,
    });
    transports[0]!.send(epoch, [sent]);
    await settle();
    const got = received.get(2)![0]!.messages[0]!;
    assert.notEqual(got, sent);
    assert.notEqual(got.entries[0]!.data, data);
    assert.deepEqual(Array.from(got.entries[0]!.data), [1, 2, 3]);
    assert.equal(got.vote, 0);
  });

  test("one transport per id, and a start after stop is refused", async () => {
    const network = new LocalNetwork();
    const t = network.transport(1);
    assert.throws(() => network.transport(1), /already has a transport/);
    assert.throws(() => network.transport(0), /positive integer/);
    await t.stop();
    await assert.rejects(
      t.start(() => {}),
      /stopped/,
    );
  });

  test("delivers and reports only in the turns of the scheduler it is given", async () => {
    // A scheduler whose later turns run only when the test says so (as in the simulator).
    const turns: (() => void)[] = [];
    const scheduler = { ...realScheduler, soon: (fn: () => void) => void turns.push(fn) };
    const { network, transports, received, unreachable } = await cluster(
      2,
      new LocalNetwork({ scheduler }),
    );
    network.cutLink(1, 2);
    transports[0]!.send(epoch, [app(1, 2, 7)]);
    network.healLink(1, 2);
    transports[0]!.send(epoch, [app(1, 2, 8)]);
    await settle();
    assert.equal(received.get(2)!.length, 0, "delivered outside the scheduler's turns");
    assert.deepEqual(unreachable.get(1), [], "reported outside the scheduler's turns");
    while (turns.length > 0) turns.shift()!();
    assert.deepEqual(
      received.get(2)!.map((b) => b.messages[0]!.index),
      [8],
    );
    assert.deepEqual(unreachable.get(1), [2]);
  });
});
