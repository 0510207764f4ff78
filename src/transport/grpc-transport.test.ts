import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { EntryType } from "../raft/types.js";
import {
  app,
  peerMap,
  QuietLogger,
  transportConformance,
  waitFor,
} from "../testing/transport-conformance.js";
import { GrpcTransport } from "./grpc-transport.js";
import type { InboundBatch } from "./transport.js";

transportConformance("GrpcTransport", (options) => new GrpcTransport(options));

describe("GrpcTransport", () => {
  test("the receiver raises its HTTP/2 window for large batches", async () => {
    const peers = await peerMap(2);
    const a = new GrpcTransport({ id: 1, peers, logger: new QuietLogger() });
    const logger = new QuietLogger();
    const b = new GrpcTransport({ id: 2, peers, logger });
    try {
      const got: InboundBatch[] = [];
      await b.start((batch) => got.push(batch));
      const entries = Array.from({ length: 500 }, (_, i) => ({
        term: 2,
        index: 1 + i,
        type: EntryType.Normal,
        data: new Uint8Array(1024),
      }));
      a.send({ start: 42, iteration: 1 }, [app(1, 2, 0, entries)]);
      await waitFor("the large batch", () => got.length === 1);
      // It warns when grpc-js gives it no way to.
      assert.deepEqual(
        logger.lines.filter((l) => l.includes("receive window")),
        [],
      );
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });

  test("bad configuration is refused with a message saying what to change", () => {
    const peers = new Map([
      [1, "127.0.0.1:7001"],
      [2, "127.0.0.1:7002"],
    ]);
    assert.throws(() => new GrpcTransport({ id: 3, peers }), /id 3 is not in the peer list/);
    assert.throws(
      () => new GrpcTransport({ id: 1, peers: new Map([[1, "localhost"]]) }),
      /"localhost" is not host:port/,
    );
    assert.throws(
      () => new GrpcTransport({ id: 1, peers: new Map([[1, "127.0.0.1:70000"]]) }),
      /port from 1 to 65535/,
    );
    assert.throws(() => new GrpcTransport({ id: 1, peers, maxMessageBytes: 0 }), /maxMessageBytes/);
  });
});
