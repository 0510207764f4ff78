import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { RespParser, splitInline } from "./parser.js";

const text = (cmds: Buffer[][]) => cmds.map((c) => c.map((a) => a.toString("latin1")));

function frame(...args: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(a);
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

describe("RespParser", () => {
  it("parses every complete frame of a chunk and keeps the incomplete tail", () => {
    const p = new RespParser();
    const all = Buffer.concat([frame("SET", "a", "1"), frame("GET", "a"), frame("GET", "b")]);
    const cut = all.length - 5;
    const first = p.push(all.subarray(0, cut));
    assert.deepEqual(text(first.commands), [
      ["SET", "a", "1"],
      ["GET", "a"],
    ]);
    const second = p.push(all.subarray(cut));
    assert.deepEqual(text(second.commands), [["GET", "b"]]);
  });

  it("parses a pipeline fed one byte at a time, binary values intact", () => {
    const value = Buffer.from([0, 13, 10, 255, 36, 42, 13, 10]);
    const all = Buffer.concat([
      frame("SET", "k\r\n", value),
      Buffer.from("PING\r\n"),
      frame("GET", "k"),
    ]);
    const p = new RespParser();
    const got: Buffer[][] = [];
    for (let i = 0; i < all.length; i++) {
      const r = p.push(all.subarray(i, i + 1));
      assert.equal(r.error, undefined);
      got.push(...r.commands);
    }
    assert.equal(got.length, 3);
    assert.deepEqual(got[0]?.[1], Buffer.from("k\r\n"));
    assert.deepEqual(got[0]?.[2], value);
    assert.deepEqual(text(got.slice(1)), [["PING"], ["GET", "k"]]);
  });

  it("reassembles a large bulk split over many chunks", () => {
    const value = Buffer.alloc(1_000_000, 7);
    value[999_999] = 13;
    const all = frame("SET", "big", value);
    const p = new RespParser();
    const got: Buffer[][] = [];
    for (let i = 0; i < all.length; i += 65_536)
      got.push(...p.push(all.subarray(i, i + 65_536)).commands);
    assert.equal(got.length, 1);
    assert.ok(got[0]?.[2]?.equals(value));
  });

  it("parses inline commands with quotes and escapes", () => {
    const p = new RespParser();
    const r = p.push(Buffer.from('set "a b" \'c d\'\r\nget "x\\r\\n\\x41"\n\r\n'));
    assert.deepEqual(text(r.commands), [
      ["set", "a b", "c d"],
      ["get", "x\r\nA"],
    ]);
    assert.throws(() => splitInline(Buffer.from('get "abc')), /unbalanced quotes/);
  });

  it("refuses a huge bulk length without allocating it", () => {
    const p = new RespParser({ maxBulkBytes: 1024, maxArgs: 10, maxInlineBytes: 100 });
    const r = p.push(Buffer.from("*2\r\n$3\r\nGET\r\n$99999999999\r\n"));
    assert.match(r.error?.message ?? "", /invalid bulk length/);
    assert.deepEqual(p.push(frame("PING")).commands, [], "nothing is parsed after an error");
  });

  it("reports malformed frames after the commands before them", () => {
    const cases: [string, RegExp][] = [
      ["*1\r\n+PING\r\n", /expected '\$'/],
      ["*x\r\n", /invalid multibulk length/],
      ["*1\r\n$4\r\nPINGxx", /not terminated by CRLF/],
      ["*20\r\n", /invalid multibulk length/],
      ["*1\r\n$-3\r\n", /invalid bulk length/],
    ];
    for (const [input, expected] of cases) {
      const p = new RespParser({ maxBulkBytes: 1024, maxArgs: 10, maxInlineBytes: 100 });
      const r = p.push(Buffer.concat([frame("PING"), Buffer.from(input)]));
      assert.deepEqual(text(r.commands), [["PING"]], input);
      assert.match(r.error?.message ?? "", expected, input);
    }
  });

  it("bounds an unterminated inline line and header", () => {
    const p = new RespParser({ maxBulkBytes: 1024, maxArgs: 10, maxInlineBytes: 100 });
    assert.equal(p.push(Buffer.alloc(60, 0x61)).error, undefined);
    assert.match(p.push(Buffer.alloc(60, 0x61)).error?.message ?? "", /too big inline/);
    const q = new RespParser({ maxBulkBytes: 1024, maxArgs: 10, maxInlineBytes: 100 });
    assert.match(
      q.push(Buffer.from(`*1\r\n$${"1".repeat(200)}`)).error?.message ?? "",
      /too big|invalid/,
    );
  });
});
