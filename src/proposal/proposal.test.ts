import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { SeededRng } from "../raft/rng.js";
import {
  decodeProposal,
  encodeProposal,
  fillProposal,
  MalformedProposalError,
  minPayloadSize,
  proposalSize,
} from "./proposal.js";

const enc = new TextEncoder();

describe("proposal codec", () => {
  test("round trip keeps id, key and value", () => {
    const p = { id: 42, key: enc.encode("user:7"), value: enc.encode("hello") };
    const bytes = encodeProposal(p);
    assert.equal(bytes.length, proposalSize(p.key.length, p.value.length));
    const back = decodeProposal(bytes);
    assert.equal(back.id, 42);
    assert.deepEqual(back.key, p.key);
    assert.deepEqual(back.value, p.value);
  });

  test("ids across the whole safe range survive", () => {
    for (const id of [0, 1, 0xffff_ffff, 0x1_0000_0000, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER]) {
      const back = decodeProposal(
        encodeProposal({ id, key: enc.encode("k"), value: enc.encode("v") }),
      );
      assert.equal(back.id, id);
    }
  });

  test("randomized round trips (seeded)", () => {
    const seed = 20240611;
    const rng = new SeededRng(seed);
    for (let n = 0; n < 500; n++) {
      const key = new Uint8Array(rng.intn(300));
      const value = new Uint8Array(rng.intn(5000));
      for (let i = 0; i < key.length; i++) key[i] = rng.intn(256);
      for (let i = 0; i < value.length; i++) value[i] = rng.intn(256);
      const id = rng.intn(2 ** 31) * 2 ** 20 + rng.intn(2 ** 20);
      const back = decodeProposal(encodeProposal({ id, key, value }));
      assert.equal(back.id, id, `seed ${seed} case ${n}`);
      assert.deepEqual(back.key, key, `seed ${seed} case ${n}`);
      assert.deepEqual(back.value, value, `seed ${seed} case ${n}`);
    }
  });

  test("decode returns views into the input, not copies", () => {
    const bytes = encodeProposal({ id: 1, key: enc.encode("ab"), value: enc.encode("cd") });
    const p = decodeProposal(bytes);
    assert.equal(p.key.buffer, bytes.buffer);
    assert.equal(p.value.buffer, bytes.buffer);
    bytes[bytes.length - 1] = 0x5a;
    assert.equal(p.value[1], 0x5a);
  });

  test("encodes into a caller's subarray", () => {
    const big = new Uint8Array(100);
    const size = proposalSize(3, 4);
    const slot = big.subarray(10, 10 + size);
    encodeProposal({ id: 9, key: enc.encode("abc"), value: enc.encode("defg") }, slot);
    assert.equal(decodeProposal(big.subarray(10, 10 + size)).id, 9);
    assert.throws(
      () => encodeProposal({ id: 9, key: enc.encode("abc"), value: enc.encode("d") }, slot),
      /buffer is \d+ bytes, proposal needs \d+/,
    );
  });

  test("fillProposal makes entry data of exactly the requested size", () => {
    const key = enc.encode("key-00000001");
    for (const total of [minPayloadSize(key.length), 64, 256, 4096]) {
      const buf = new Uint8Array(total);
      fillProposal(buf, 77, key);
      const p = decodeProposal(buf);
      assert.equal(p.id, 77);
      assert.deepEqual(p.key, key);
      assert.equal(p.value.length, total - proposalSize(key.length, 0));
    }
    assert.throws(() => fillProposal(new Uint8Array(8), 1, key), /use at least \d+ bytes/);
  });

  test("malformed inputs are rejected with a reason", () => {
    const good = encodeProposal({ id: 5, key: enc.encode("key"), value: enc.encode("v") });
    const cases: [string, Uint8Array, RegExp][] = [
      ["empty", new Uint8Array(0), /shorter than/],
      ["truncated header", good.subarray(0, 6), /shorter than/],
      ["bad version", Uint8Array.of(2, ...good.subarray(1)), /version 2/],
      ["key past end", good.subarray(0, 11), /runs past the end/],
      ["unterminated varint", Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0, 0, 0x80), /varint/],
      ["id too large", Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0x20, 0, 0), /safe integer/],
    ];
    for (const [name, bytes, pattern] of cases) {
      assert.throws(
        () => decodeProposal(bytes),
        (e: unknown) => e instanceof MalformedProposalError && pattern.test(e.message),
        name,
      );
    }
  });
});
