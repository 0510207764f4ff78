import assert from "node:assert/strict";
import { test } from "node:test";
import { hasErrorCode } from "../errors/errors.js";
import { type Message, MessageType, makeMessage } from "../raft/types.js";
import type { Epoch, InboundBatch } from "../transport/transport.js";
import { memoryEpochStore, NO_EPOCH } from "./epoch.js";
import { TestEpochMode } from "./test-epoch-mode.js";

function recordingHost() {
  const seen = { cleared: 0, received: 0, wakes: 0, lines: [] as string[] };
  return {
    seen,
    host: {
      clearInbound: () => seen.cleared++,
      received: (messages: readonly Message[]) => {
        seen.received += messages.length;
      },
      log: (line: string) => seen.lines.push(line),
      wake: () => seen.wakes++,
    },
  };
}

const batch = (epoch: Epoch): InboundBatch => ({ epoch, from: 2, messages: [] });

test("a follower adopts a newer epoch, counts the current one and drops older batches", async () => {
  const { seen, host } = recordingHost();
  const store = memoryEpochStore();
  const mode = new TestEpochMode(1, store, undefined, host);
  const newer = { start: 7, iteration: 1 };

  assert.equal(mode.admit(batch(newer)), true);
  assert.deepEqual(mode.epoch, newer);
  assert.equal(seen.cleared, 1, "the old epoch's queued messages are dropped");
  assert.equal(mode.hasWork, true);
  assert.deepEqual(mode.takeReset(), newer);
  assert.equal(mode.takeReset(), undefined, "a reset is handed out once");

  assert.equal(mode.admit(batch(NO_EPOCH)), false);
  assert.equal(mode.droppedOldEpochBatches, 1);
  assert.equal(
    mode.admit({
      epoch: newer,
      from: 2,
      messages: [makeMessage({ type: MessageType.MsgHeartbeat, to: 1, from: 2 })],
    }),
    true,
  );
  assert.equal(seen.received, 1);

  await mode.resetDone(newer);
  assert.deepEqual(await store.load(), newer, "a follower records the epoch once reset");
});

test("the owner drops newer epochs, starts the next one itself and waits for its reset", async () => {
  const { seen, host } = recordingHost();
  const store = memoryEpochStore();
  const mode = new TestEpochMode(1, store, { start: 7 }, host);
  assert.equal(mode.admit(batch({ start: 9, iteration: 0 })), false);
  assert.equal(mode.droppedOldEpochBatches, 1);

  let started: Epoch | undefined;
  const next = mode.next().then((e) => {
    started = e;
  });
  assert.equal(seen.wakes, 1);
  const target = mode.takeReset();
  assert.deepEqual(target, { start: 0, iteration: 1 });
  await Promise.resolve();
  assert.equal(started, undefined, "next() waits for the reset");
  await mode.resetDone({ start: 0, iteration: 1 });
  await next;
  assert.deepEqual(started, { start: 0, iteration: 1 });
  assert.deepEqual(await store.load(), NO_EPOCH, "the owner keeps no epoch file");
});

test("a follower may not start epochs, and service-mode requests are refused", async () => {
  const mode = new TestEpochMode(1, memoryEpochStore(), undefined, recordingHost().host);
  await assert.rejects(mode.next(), (e) => hasErrorCode(e, "not-epoch-owner"));
  assert.throws(
    () => mode.requestReadRound(),
    (e) => hasErrorCode(e, "not-service-mode"),
  );
});
