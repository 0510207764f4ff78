import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SeededRng } from "../raft/rng.js";
import { decodeCommand, encodeCommand, entryKind } from "./command.js";
import type { StateCommand } from "./kv.js";
import { encodeProposal, MalformedProposalError } from "./proposal.js";

const enc = new TextEncoder();
const b = (s: string): Uint8Array => enc.encode(s);

/** Commands as plain data, for deepEqual against what decodes. */
function plain(c: StateCommand): unknown {
  return JSON.parse(
    JSON.stringify(c, (_k, v: unknown) =>
      v instanceof Uint8Array ? { bytes: [...v] } : typeof v === "bigint" ? `${v}n` : v,
    ),
  );
}

const samples: StateCommand[] = [
  { op: "set", key: b("k"), value: b("v") },
  { op: "set", key: b("a\r\nb"), value: Uint8Array.of(0, 13, 10, 255), condition: "nx" },
  { op: "set", key: new Uint8Array(0), value: new Uint8Array(0), condition: "xx" },
  {
    op: "mset",
    pairs: [
      [b("x"), b("1")],
      [b(""), Uint8Array.of(0)],
    ],
  },
  { op: "mset", pairs: [] },
  { op: "del", keys: [b("a"), b("b"), new Uint8Array(300)] },
  { op: "incrby", key: b("n"), by: -(2n ** 63n) },
  { op: "incrby", key: b("n"), by: 2n ** 63n - 1n },
  { op: "push", key: b("q"), values: [b("1"), new Uint8Array(200).fill(7)], end: "left" },
  { op: "push", key: b("q"), values: [], end: "right" },
  { op: "pop", key: b("q"), end: "right" },
  { op: "pop", key: b(""), end: "left" },
  { op: "member-addresses", id: 3, addresses: { resp: "127.0.0.1:6379", http: "[::1]:8080" } },
  { op: "member-addresses", id: 2 ** 40, addresses: {} },
  { op: "member-addresses", id: 4, addresses: { raft: "10.0.0.4:7001", http: "h" } },
  { op: "forget-member", id: 7 },
];

describe("command format", () => {
  test("every command round trips with its id, and says what kind it is", () => {
    for (const [i, c] of samples.entries()) {
      const id = i * 1_000_003 + 2 ** 45;
      const data = encodeCommand(id, c);
      const back = decodeCommand(data);
      assert.equal(back.id, id, c.op);
      assert.deepEqual(plain(back.command), plain(c), c.op);
      const member = c.op === "member-addresses" || c.op === "forget-member";
      assert.equal(entryKind(data), member ? "member" : "command");
    }
    assert.equal(entryKind(encodeProposal({ id: 1, key: b("k"), value: b("v") })), "put");
    assert.equal(entryKind(Uint8Array.of(9)), "unknown");
  });

  test("decoded keys and values are views into the entry data", () => {
    const data = encodeCommand(1, { op: "set", key: b("key"), value: b("value") });
    const c = decodeCommand(data).command as Extract<StateCommand, { op: "set" }>;
    assert.equal(c.key.buffer, data.buffer);
    assert.equal(c.value.buffer, data.buffer);
  });

  test("out-of-range inputs are refused when encoding", () => {
    assert.throws(() => encodeCommand(1, { op: "incrby", key: b("n"), by: 2n ** 63n }), /64-bit/);
    assert.throws(() => encodeCommand(-1, { op: "pop", key: b("q"), end: "left" }), /non-negative/);
    assert.throws(
      () => encodeCommand(1, { op: "forget-member", id: 1.5 }),
      /member id must be a non-negative safe integer/,
    );
  });

  test("damaged commands are refused with a reason, never misread (seeded)", () => {
    const good = encodeCommand(5, {
      op: "push",
      key: b("q"),
      values: [b("a"), b("b")],
      end: "left",
    });
    const cases: [string, Uint8Array, RegExp][] = [
      ["short", good.subarray(0, 9), /shorter than/],
      ["a put", encodeProposal({ id: 1, key: b("k"), value: b("v") }), /kind 1 is not a command/],
      ["unknown op", Uint8Array.of(...good.subarray(0, 9), 77), /op 77 is unknown/],
      ["truncated", good.subarray(0, good.length - 1), /runs past the end/],
      ["trailing", Uint8Array.of(...good, 0), /1 trailing bytes/],
      ["bad end", Uint8Array.of(...good.subarray(0, 10), 5, ...good.subarray(11)), /list end 5/],
      [
        "bad condition",
        Uint8Array.of(
          ...encodeCommand(1, { op: "set", key: b("k"), value: b("v") }).subarray(0, 10),
          3,
          1,
          0x6b,
        ),
        /set condition 3/,
      ],
      [
        "huge count",
        Uint8Array.of(...encodeCommand(1, { op: "del", keys: [] }).subarray(0, 10), 0x7f),
        /key count 127 exceeds/,
      ],
    ];
    for (const [name, bytes, pattern] of cases) {
      assert.throws(
        () => decodeCommand(bytes),
        (e: unknown) => e instanceof MalformedProposalError && pattern.test(e.message),
        name,
      );
    }
    // Random damage either decodes to some command or throws MalformedProposalError.
    const seed = 912;
    const rng = new SeededRng(seed);
    for (let n = 0; n < 2000; n++) {
      const base = encodeCommand(n, samples[rng.intn(samples.length)]!);
      const bytes = Uint8Array.from(base);
      bytes[9 + rng.intn(bytes.length - 9)] = rng.intn(256);
      const cut = bytes.subarray(0, 10 + rng.intn(bytes.length - 9));
      try {
        decodeCommand(cut);
      } catch (e) {
        assert.ok(e instanceof MalformedProposalError, `seed ${seed} case ${n}: ${e}`);
      }
    }
  });
});
