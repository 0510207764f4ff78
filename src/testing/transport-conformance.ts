// The behaviour every transport between processes must show, run against each of them
// (grpc-transport.test.ts, tcp-transport.test.ts): order per link, epochs intact, large
// batches, splitting, reconnection, bounded queues, one-line errors, prompt stops, pings.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, describe, test } from "node:test";
import type { Message } from "../raft/types.js";
import { EntryType, MessageType, makeMessage } from "../raft/types.js";
import { freePorts } from "../transport/free-ports.js";
import type { NetDelay } from "../transport/net-delay.js";
import type {
  Epoch,
  InboundBatch,
  TransportLogger as Logger,
  Transport,
} from "../transport/transport.js";
import { DOWN_QUEUE_BYTES } from "../transport/transport-core.js";

/** What the suite may configure; each transport maps it onto its own options. */
export interface ConformanceOptions {
  id: number;
  peers: ReadonlyMap<number, string>;
  maxMessageBytes?: number;
  maxQueueBytes?: number;
  maxQueueBatches?: number;
  backoffMaxMs?: number;
  netDelay?: NetDelay;
  pingIntervalMs?: number;
  logger: Logger;
}

export interface TestedTransport extends Transport {
  readonly id: number;
  linkStats(peerId: number): { queuedBatches: number; queuedBytes: number } | undefined;
}

export async function peerMap(n: number): Promise<Map<number, string>> {
  const ports = await freePorts(n);
  return new Map(ports.map((port, i) => [i + 1, `127.0.0.1:${port}`]));
}

export class QuietLogger implements Logger {
  readonly lines: string[] = [];
  info(message: string): void {
    this.lines.push(message);
  }
  warn(message: string): void {
    this.lines.push(message);
  }
}

export async function waitFor(
  what: string,
  condition: () => boolean,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function app(
  from: number,
  to: number,
  index: number,
  entries: Message["entries"] = [],
): Message {
  return makeMessage({
    type: MessageType.MsgApp,
    from,
    to,
    term: 3,
    index,
    entries,
    commit: index,
  });
}

/** Runs the shared tests against transports built by `create`. */
export function transportConformance(
  name: string,
  create: (options: ConformanceOptions) => TestedTransport,
): void {
  const started: Transport[] = [];
  function transport(
    options: Omit<ConformanceOptions, "logger"> & { logger?: Logger },
  ): TestedTransport {
    const t = create({ logger: new QuietLogger(), ...options });
    started.push(t);
    return t;
  }
  after(async () => {
    await Promise.all(started.map((t) => t.stop()));
  });

  describe(`${name} (shared transport behaviour)`, () => {
    test("delivers each sender's messages in order, with epoch and sender intact", async () => {
      const peers = await peerMap(3);
      const [a, b, c] = [1, 2, 3].map((id) => transport({ id, peers }));
      const received = new Map<number, InboundBatch[]>([
        [1, []],
        [2, []],
        [3, []],
      ]);
      await Promise.all(
        [a!, b!, c!].map((t) => t.start((batch) => received.get(t.id)!.push(batch))),
      );

      const sends = 300;
      for (let i = 0; i < sends; i++) {
        const epoch: Epoch = { start: 1_700_000_000_000 + (i % 7), iteration: i };
        // One send to both followers; b also talks back to a.
        a!.send(epoch, [app(1, 2, i), app(1, 3, i), app(1, 2, i)]);
        b!.send(epoch, [makeMessage({ type: MessageType.MsgAppResp, from: 2, to: 1, index: i })]);
      }
      await waitFor("every message", () => {
        const count = (id: number) =>
          received.get(id)!.reduce((n, batch) => n + batch.messages.length, 0);
        return count(2) === 2 * sends && count(3) === sends && count(1) === sends;
      });

      for (const [id, batches] of received) {
        const seen: number[] = [];
        for (const batch of batches) {
          const expectedFrom = id === 1 ? 2 : 1;
          assert.equal(batch.from, expectedFrom);
          for (const m of batch.messages) {
            assert.equal(m.to, id);
            assert.equal(m.from, expectedFrom);
            // Every batch carries the epoch of the send its messages came from.
            assert.deepEqual(batch.epoch, {
              start: 1_700_000_000_000 + (m.index % 7),
              iteration: m.index,
            });
            seen.push(m.index);
          }
        }
        const expected = Array.from({ length: sends }, (_, i) => (id === 2 ? [i, i] : [i])).flat();
        assert.deepEqual(seen, expected, `order at peer ${id}`);
      }
      const stats = a!.stats();
      assert.equal(stats.sentMessages, 3 * sends);
      assert.equal(stats.dropped, 0);
    });

    test("delivers a batch of 2,000 entries of 256 bytes intact", async () => {
      const peers = await peerMap(2);
      const a = transport({ id: 1, peers });
      const b = transport({ id: 2, peers });
      const got: InboundBatch[] = [];
      await b.start((batch) => got.push(batch));
      const entries = Array.from({ length: 2000 }, (_, i) => ({
        term: 2,
        index: 1000 + i,
        type: EntryType.Normal,
        data: new Uint8Array(256).fill(i & 0xff),
      }));
      a.send({ start: 42, iteration: 1 }, [app(1, 2, 999, entries)]);
      await waitFor("the large batch", () => got.length === 1);
      const msg = got[0]!.messages[0]!;
      assert.equal(msg.entries.length, 2000);
      msg.entries.forEach((e, i) => {
        assert.equal(e.index, 1000 + i);
        assert.equal(e.data.length, 256);
        assert.ok(
          e.data.every((byte) => byte === (i & 0xff)),
          `entry ${i} data corrupted`,
        );
      });
    });

    test("delivers 64 entries of 16 KiB intact, each its own bytes", async () => {
      const peers = await peerMap(2);
      const a = transport({ id: 1, peers });
      const b = transport({ id: 2, peers });
      const got: InboundBatch[] = [];
      await b.start((batch) => got.push(batch));
      const entries = Array.from({ length: 64 }, (_, i) => ({
        term: 2,
        index: 10 + i,
        type: EntryType.Normal,
        data: new Uint8Array(16384).fill(i + 1),
      }));
      // Twice: once alone, once beside a small message in the same batch.
      a.send({ start: 42, iteration: 1 }, [app(1, 2, 9, entries)]);
      a.send({ start: 42, iteration: 1 }, [app(1, 2, 9, entries), app(1, 2, 73)]);
      await waitFor("both batches", () => got.flatMap((batch) => batch.messages).length === 3);
      const messages = got.flatMap((batch) => batch.messages);
      for (const m of [messages[0]!, messages[1]!]) {
        assert.equal(m.entries.length, 64);
        m.entries.forEach((e, i) => {
          assert.equal(e.index, 10 + i);
          assert.equal(e.data.length, 16384);
          assert.ok(
            e.data.every((byte) => byte === i + 1),
            `entry ${i} data corrupted`,
          );
        });
      }
      assert.equal(messages[2]!.index, 73);
    });

    test("splits a send larger than maxMessageBytes and delivers every message in order", async () => {
      const peers = await peerMap(2);
      const limit = 64 * 1024;
      const a = transport({ id: 1, peers, maxMessageBytes: limit });
      const b = transport({ id: 2, peers, maxMessageBytes: limit });
      const got: InboundBatch[] = [];
      await b.start((batch) => got.push(batch));
      const payload = new Uint8Array(2000);
      const messages = Array.from({ length: 100 }, (_, i) =>
        app(1, 2, i, [{ term: 1, index: i, type: EntryType.Normal, data: payload }]),
      );
      a.send({ start: 1, iteration: 0 }, messages);
      await waitFor("every message", () => got.flatMap((batch) => batch.messages).length === 100);
      assert.ok(got.length > 1, "one message of more than the limit would have been refused");
      assert.deepEqual(
        got.flatMap((batch) => batch.messages.map((m) => m.index)),
        messages.map((m) => m.index),
      );
      // A single message that cannot fit is dropped and counted, never sent.
      const huge = app(1, 2, 500, [
        { term: 1, index: 500, type: EntryType.Normal, data: new Uint8Array(limit) },
      ]);
      a.send({ start: 1, iteration: 0 }, [huge]);
      assert.equal(a.stats().dropped, 1);
    });

    test("reconnects after a peer comes up, goes down and comes back", async () => {
      const peers = await peerMap(2);
      const a = transport({ id: 1, peers, backoffMaxMs: 200 });
      const unreachable: number[] = [];
      a.onUnreachable((id) => unreachable.push(id));
      await a.start(() => {});

      // Peer 2 is down: sending must neither throw nor crash, and reports it unreachable.
      let next = 0;
      const sendOne = (): void => a.send({ start: 7, iteration: 0 }, [app(1, 2, next++)]);
      sendOne();
      await waitFor("an unreachable report", () => unreachable.includes(2));

      for (let round = 0; round < 2; round++) {
        const got: number[] = [];
        const b = transport({ id: 2, peers });
        await b.start((batch) => {
          for (const m of batch.messages) got.push(m.index);
        });
        const firstAfterUp = next;
        const timer = setInterval(sendOne, 10);
        try {
          await waitFor(`delivery after peer 2 came up (round ${round})`, () =>
            got.some((index) => index > firstAfterUp),
          );
        } finally {
          clearInterval(timer);
        }
        // Order holds across the reconnection: whatever arrives, arrives in send order.
        assert.deepEqual(
          got,
          [...got].sort((x, y) => x - y),
        );
        unreachable.length = 0;
        await b.stop();
        sendOne();
        await waitFor(`an unreachable report after peer 2 stopped (round ${round})`, () =>
          unreachable.includes(2),
        );
      }
    });

    test("a peer restarted after a long outage is reached again within one election timeout", async () => {
      const peers = await peerMap(2);
      // The default backoff, as the nodes run it.
      const a = transport({ id: 1, peers });
      await a.start(() => {});
      let next = 0;
      const timer = setInterval(() => a.send({ start: 1, iteration: 0 }, [app(1, 2, next++)]), 20);
      try {
        // Long enough for any backoff up to 2 s to reach its cap (50 ms doubling: 3.15 s).
        await new Promise((resolve) => setTimeout(resolve, 3500));
        let reachedAt = 0;
        const b = transport({ id: 2, peers });
        await b.start(() => {
          if (reachedAt === 0) reachedAt = Date.now();
        });
        const listening = Date.now();
        await waitFor("a delivery to the restarted peer", () => reachedAt !== 0, 10_000);
        const ms = reachedAt - listening;
        process.stdout.write(`# ${name}: restarted peer reached ${ms} ms after it listened\n`);
        // One election timeout at the defaults (10 ticks of 100 ms).
        assert.ok(ms < 1000, `reached after ${ms} ms`);
      } finally {
        clearInterval(timer);
      }
    });

    test("a connection that breaks is reported as disconnected (a follower's cue that its leader died)", async () => {
      const peers = await peerMap(2);
      const a = transport({ id: 1, peers, backoffMaxMs: 200 });
      const disconnected: number[] = [];
      a.onDisconnected?.((id) => disconnected.push(id));
      await a.start(() => {});
      const got: number[] = [];
      const b = transport({ id: 2, peers });
      await b.start((batch) => {
        for (const m of batch.messages) got.push(m.index);
      });
      let next = 0;
      const timer = setInterval(() => a.send({ start: 1, iteration: 0 }, [app(1, 2, next++)]), 10);
      try {
        await waitFor("a delivery", () => got.length > 0);
        disconnected.length = 0;
        await b.stop();
        await waitFor("a disconnect report after peer 2 stopped", () => disconnected.includes(2));
      } finally {
        clearInterval(timer);
      }
    });

    test("a full queue to a down peer drops and counts instead of growing", async () => {
      const peers = await peerMap(2);
      const maxQueueBytes = 64 * 1024;
      const maxQueueBatches = 8;
      const a = transport({ id: 1, peers, maxQueueBytes, maxQueueBatches });
      const unreachable: number[] = [];
      a.onUnreachable((id) => unreachable.push(id));
      const entry = { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(4000) };
      for (let i = 0; i < 200; i++) a.send({ start: 1, iteration: 0 }, [app(1, 2, i, [entry])]);
      const link = a.linkStats(2)!;
      assert.ok(link.queuedBatches <= maxQueueBatches, `queued ${link.queuedBatches} batches`);
      assert.ok(link.queuedBytes <= maxQueueBytes, `queued ${link.queuedBytes} bytes`);
      assert.equal(a.stats().dropped, 200 - link.queuedBatches);
      await waitFor("an unreachable report", () => unreachable.includes(2));

      // Messages to an id outside the peer list are dropped the same way (the queue itself
      // may have been dropped meanwhile, with a connection attempt that failed).
      const dropped = a.stats().dropped;
      a.send({ start: 1, iteration: 0 }, [app(1, 9, 0)]);
      assert.equal(a.stats().dropped, dropped + 1);
    });

    test("a link to a dead peer holds a few MiB, not the backlog, and replays no more when it is back", async () => {
      const peers = await peerMap(2);
      // The default bounds, as the nodes run them: 64 MiB while connected, 4 MiB while down.
      const a = transport({ id: 1, peers, backoffMaxMs: 100 });
      const disconnected: number[] = [];
      a.onDisconnected?.((id) => disconnected.push(id));
      await a.start(() => {});
      const got: number[] = [];
      let b = transport({ id: 2, peers });
      const receive = (batch: InboundBatch): void => {
        for (const m of batch.messages) got.push(m.index);
      };
      await b.start(receive);
      a.send({ start: 1, iteration: 0 }, [app(1, 2, 0)]);
      await waitFor("a delivery", () => got.length === 1);
      // A dial made before peer 2 listened was reported too.
      disconnected.length = 0;
      await b.stop();
      a.send({ start: 1, iteration: 0 }, [app(1, 2, 1)]);
      await waitFor("peer 2's connection to break", () => disconnected.includes(2));
      // 200 appends of 64 KiB (12.5 MiB) while peer 2 is down.
      const entry = { term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array(64 * 1024) };
      const droppedBefore = a.stats().dropped;
      for (let i = 0; i < 200; i++)
        a.send({ start: 1, iteration: 0 }, [app(1, 2, 100 + i, [entry])]);
      const queued = a.linkStats(2)!;
      assert.ok(queued.queuedBytes <= DOWN_QUEUE_BYTES, `queued ${queued.queuedBytes} bytes`);
      const dropped = a.stats().dropped - droppedBefore;
      assert.ok(dropped >= 200 - DOWN_QUEUE_BYTES / (64 * 1024), `dropped ${dropped}`);
      got.length = 0;
      b = transport({ id: 2, peers });
      await b.start(receive);
      let next = 1000;
      const timer = setInterval(() => a.send({ start: 1, iteration: 0 }, [app(1, 2, next++)]), 10);
      try {
        await waitFor("a new message after peer 2 is back", () => got.some((i) => i >= 1000));
      } finally {
        clearInterval(timer);
      }
      const backlog = got.filter((i) => i >= 100 && i < 300).length;
      assert.ok(backlog <= DOWN_QUEUE_BYTES / (64 * 1024), `replayed ${backlog} old appends`);
    });

    test("a port in use fails start() with an error naming the address", async () => {
      const [port] = await freePorts(1);
      const blocker = createServer();
      await new Promise<void>((resolve) => blocker.listen(port, "127.0.0.1", resolve));
      try {
        const peers = new Map([[1, `127.0.0.1:${port}`]]);
        const t = transport({ id: 1, peers });
        await assert.rejects(
          t.start(() => {}),
          (err: Error) => {
            assert.match(err.message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
            assert.ok(!err.message.includes("\n"), "a one-line error");
            return true;
          },
        );
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    });

    test("pings answered by the transport give a one-way latency that includes --net-delay", async () => {
      const peers = await peerMap(2);
      const delay: NetDelay = { delayMs: 15, jitterMs: 0 };
      const a = transport({ id: 1, peers, netDelay: delay, pingIntervalMs: 20 });
      const b = transport({ id: 2, peers, netDelay: delay, pingIntervalMs: 20 });
      const got: InboundBatch[] = [];
      assert.equal(a.stats().oneWayP50Ns, undefined, "no figure before any ping");
      await a.start(() => {});
      await b.start((batch) => got.push(batch));
      // Links open on first use; pings then flow on each.
      a.send({ start: 1, iteration: 0 }, [app(1, 2, 1)]);
      b.send({ start: 1, iteration: 0 }, [app(2, 1, 1)]);
      await waitFor("one-way figures on both sides", () => {
        return a.stats().oneWayP50Ns !== undefined && b.stats().oneWayP50Ns !== undefined;
      });
      for (const t of [a, b]) {
        // Ping and pong each wait out the delay: half the round trip is at least one delay.
        assert.ok(t.stats().oneWayP50Ns! >= 14.9e6, `one-way ${t.stats().oneWayP50Ns} ns`);
      }
      // Raft never sees a ping.
      assert.ok(got.every((batch) => batch.messages.length > 0));
    });

    test("with --net-delay and jitter, each link delivers in send order and never early", async () => {
      const peers = await peerMap(3);
      const delay: NetDelay = { delayMs: 4, jitterMs: 4 };
      const a = transport({ id: 1, peers, netDelay: delay });
      const received = new Map<number, { index: number; at: number }[]>([
        [2, []],
        [3, []],
      ]);
      const b = transport({ id: 2, peers });
      const c = transport({ id: 3, peers });
      await a.start(() => {});
      for (const t of [b, c]) {
        await t.start((batch) => {
          const now = performance.now();
          for (const m of batch.messages) received.get(t.id)!.push({ index: m.index, at: now });
        });
      }
      const sentAt: number[] = [];
      const sends = 400;
      for (let i = 0; i < sends; i++) {
        sentAt.push(performance.now());
        a.send({ start: 1, iteration: 0 }, [app(1, 2, i), app(1, 3, i)]);
        if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await waitFor("every message", () =>
        [...received.values()].every((list) => list.length === sends),
      );
      for (const [id, list] of received) {
        assert.deepEqual(
          list.map((r) => r.index),
          Array.from({ length: sends }, (_, i) => i),
          `order at peer ${id}`,
        );
        // Delivered no earlier than the smallest delay the jitter allows (0 here), and on
        // average about the delay: the lower bound is the behaviour, checked per message.
        for (const r of list) assert.ok(r.at >= sentAt[r.index]!, `message ${r.index} early`);
      }
      assert.equal(a.stats().dropped, 0);
    });

    test("--net-delay holds every message for at least the delay", async () => {
      const peers = await peerMap(2);
      const a = transport({ id: 1, peers, netDelay: { delayMs: 20, jitterMs: 0 } });
      const b = transport({ id: 2, peers });
      const at: number[] = [];
      await a.start(() => {});
      await b.start(() => at.push(performance.now()));
      // The first send opens the link; time only sends over an open link.
      a.send({ start: 1, iteration: 0 }, [app(1, 2, 0)]);
      await waitFor("the first delivery", () => at.length === 1);
      const sent: number[] = [];
      for (let i = 1; i <= 5; i++) {
        sent.push(performance.now());
        a.send({ start: 1, iteration: 0 }, [app(1, 2, i)]);
        await new Promise((resolve) => setTimeout(resolve, 3));
      }
      await waitFor("every delivery", () => at.length === 6);
      sent.forEach((t, i) => {
        assert.ok(at[i + 1]! - t >= 19.9, `message ${i + 1} waited ${at[i + 1]! - t} ms`);
      });
    });

    test("stop() returns promptly with open streams both ways and a peer down", async () => {
      const peers = await peerMap(3);
      const a = transport({ id: 1, peers });
      const b = transport({ id: 2, peers });
      let got = 0;
      await a.start(() => {});
      await b.start(() => {
        got++;
      });
      a.send({ start: 1, iteration: 0 }, [app(1, 2, 1), app(1, 3, 1)]);
      b.send({ start: 1, iteration: 0 }, [app(2, 1, 1)]);
      await waitFor("a delivery", () => got > 0);
      const t0 = performance.now();
      await Promise.all([a.stop(), b.stop()]);
      const elapsed = performance.now() - t0;
      assert.ok(elapsed < 2000, `stop took ${elapsed.toFixed(0)} ms`);
      // After stop, sends are dropped quietly (and counted, as the one for peer 3 was).
      const dropped = a.stats().dropped;
      a.send({ start: 1, iteration: 0 }, [app(1, 2, 2)]);
      assert.equal(a.stats().dropped, dropped + 1);
    });
  });
}
