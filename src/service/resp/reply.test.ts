import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { appendReply, bulk, type Reply } from "./reply.js";

const bytes = (r: Reply) => {
  const pieces: Buffer[] = [];
  appendReply(pieces, r);
  return Buffer.concat(pieces);
};

describe("RESP replies", () => {
  it("encodes a bulk string of every header width, from a Buffer or a plain view", () => {
    for (const n of [0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 123456]) {
      const value = Buffer.alloc(n, 0x61 + (n % 26));
      const want = Buffer.concat([Buffer.from(`$${n}\r\n`), value, Buffer.from("\r\n")]);
      assert.deepEqual(bytes(bulk(value)), want, `length ${n}`);
      // An engine's view into a larger buffer, not a Buffer: only its own bytes are sent.
      const backing = new Uint8Array(n + 8).fill(0x7a);
      backing.set(value, 4);
      const view = backing.subarray(4, 4 + n);
      assert.deepEqual(bytes(bulk(view)), want, `view of length ${n}`);
    }
  });

  it("encodes a missing value as the null bulk string", () => {
    assert.equal(bytes(bulk(null)).toString("latin1"), "$-1\r\n");
  });
});
