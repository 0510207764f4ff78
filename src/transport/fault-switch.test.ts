import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { app, peerMap, QuietLogger, waitFor } from "../testing/transport-conformance.js";
import { FaultSwitch, withFaultSwitch } from "./fault-switch.js";
import { transportSpec } from "./registry.js";
import type { Transport } from "./transport.js";

const EPOCH = { start: 1, iteration: 0 };
const stops: Transport[] = [];
after(async () => {
  await Promise.all(stops.map((t) => t.stop()));
});

describe("FaultSwitch", () => {
  test("passOut keeps only messages to peers not cut off, and counts the rest", () => {
    const faults = new FaultSwitch();
    const batch = [app(1, 2, 1), app(1, 3, 2), app(1, 2, 3)];
    assert.equal(faults.passOut(batch), batch, "healed: the very same array, nothing copied");
    faults.partition([2]);
    assert.deepEqual(
      faults.passOut(batch).map((m) => m.index),
      [2],
    );
    assert.deepEqual(faults.dropped, { out: 2, in: 0 });
    assert.equal(faults.passIn({ epoch: EPOCH, from: 2, messages: [app(2, 1, 9)] }), false);
    assert.equal(faults.passIn({ epoch: EPOCH, from: 3, messages: [app(3, 1, 9)] }), true);
    assert.deepEqual(faults.dropped, { out: 2, in: 1 });
    faults.partition([3, 2]);
    assert.deepEqual(faults.isolated, [2, 3], "a new cut replaces the old one");
    faults.heal();
    assert.deepEqual(faults.isolated, []);
    assert.equal(faults.blocks(2), false);
  });

  for (const kind of ["tcp", "grpc"]) {
    test(`over ${kind}: a cut drops both directions until healed, the link itself survives`, async () => {
      const peers = await peerMap(2);
      const make = (id: number) =>
        transportSpec(kind).create({ id, peers, logger: new QuietLogger() });
      const faults = new FaultSwitch();
      const a = withFaultSwitch(make(1), faults);
      const b = make(2);
      stops.push(a, b);
      const atA: number[] = [];
      const atB: number[] = [];
      await a.start((batch) => atA.push(...batch.messages.map((m) => m.index)));
      await b.start((batch) => atB.push(...batch.messages.map((m) => m.index)));
      // Before the cut: both directions deliver.
      a.send(EPOCH, [app(1, 2, 1)]);
      b.send(EPOCH, [app(2, 1, 1)]);
      await waitFor("delivery before the cut", () => atA.length === 1 && atB.length === 1);

      faults.partition([2]);
      for (let i = 10; i < 20; i++) {
        a.send(EPOCH, [app(1, 2, i)]);
        b.send(EPOCH, [app(2, 1, i)]);
      }
      // What b sent is on its way: it reaches a's transport during the cut, and stops there.
      await waitFor("b's batches reaching the cut", () => faults.dropped.in === 10);
      assert.equal(faults.dropped.out, 10);
      faults.heal();
      // Each link is FIFO: once the message sent after the heal arrives, everything sent
      // during the cut would have arrived before it.
      a.send(EPOCH, [app(1, 2, 100)]);
      b.send(EPOCH, [app(2, 1, 100)]);
      await waitFor("delivery after the heal", () => atA.includes(100) && atB.includes(100));
      assert.deepEqual(atA, [1, 100]);
      assert.deepEqual(atB, [1, 100]);
      assert.ok(a.stats().dropped >= 20, "the switch's drops are in the transport's count");
    });
  }
});
