import assert from "node:assert/strict";
import { test } from "node:test";
import {
  putUvarint,
  readUvarint,
  readVarint,
  SAFE_VARINT_MAX_BYTES,
  uvarintSize,
  VARINT_TOO_LONG,
  VARINT_TRUNCATED,
  WIRE_VARINT_MAX_BYTES,
} from "./varint.js";

test("varints round trip and report their size, at every length from 1 to 8 bytes", () => {
  const buf = new Uint8Array(10);
  const cur = { value: 0, pos: 0 };
  const edges = [0, 127, 128, 300, 2 ** 21, 2 ** 32 - 1, 2 ** 32, 2 ** 35 + 1, 2 ** 49];
  for (const n of [...edges, Number.MAX_SAFE_INTEGER]) {
    const end = putUvarint(buf, 0, n);
    assert.equal(end, uvarintSize(n), `size of ${n}`);
    cur.pos = 0;
    readVarint(buf, cur);
    assert.equal(cur.value, n);
    assert.equal(cur.pos, end);
    const wire = { pos: 0 };
    assert.equal(readUvarint(buf, wire, end, WIRE_VARINT_MAX_BYTES), n);
    assert.equal(wire.pos, end);
  }
});

test("random safe integers: both readers agree with the writer (seeded)", () => {
  const seed = Number(process.env.VARINT_SEED ?? Date.now() % 1_000_000);
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state;
  };
  const buf = new Uint8Array(10);
  for (let i = 0; i < 2000; i++) {
    const bits = next() % 54;
    const n = Math.min(Number.MAX_SAFE_INTEGER, Math.floor((next() / 2 ** 31) * 2 ** bits));
    const end = putUvarint(buf, 0, n);
    const cur = { value: -1, pos: 0 };
    readVarint(buf, cur);
    const msg = `n=${n}; reproduce with VARINT_SEED=${seed}`;
    assert.equal(end, uvarintSize(n), msg);
    assert.equal(cur.value, n, msg);
    assert.equal(readUvarint(buf, { pos: 0 }, end, WIRE_VARINT_MAX_BYTES), n, msg);
  }
});

test("the two formats differ only in the longest input they accept", () => {
  // 1 written in nine bytes (a non-minimal form protobuf decoders accept).
  const padded = Uint8Array.of(0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00);
  assert.equal(readUvarint(padded, { pos: 0 }, padded.length, WIRE_VARINT_MAX_BYTES), 1);
  const cur = { pos: 0 };
  assert.equal(readUvarint(padded, cur, padded.length, SAFE_VARINT_MAX_BYTES), VARINT_TOO_LONG);
  assert.equal(cur.pos, SAFE_VARINT_MAX_BYTES, "stops after the bytes it read");
  assert.throws(() => readVarint(padded, { value: 0, pos: 0 }), /longer than 8 bytes/);
});

test("truncated, too long and unsafe inputs are refused", () => {
  const cut = Uint8Array.of(0xff, 0xff);
  const cur = { pos: 0 };
  assert.equal(readUvarint(cut, cur, cut.length, WIRE_VARINT_MAX_BYTES), VARINT_TRUNCATED);
  assert.equal(cur.pos, 0, "a truncated read leaves the position alone");
  assert.throws(() => readVarint(cut, { value: 0, pos: 0 }), /past the end/);
  const eleven = new Uint8Array(11).fill(0xff);
  assert.equal(readUvarint(eleven, { pos: 0 }, 11, WIRE_VARINT_MAX_BYTES), VARINT_TOO_LONG);
  // 2^53 in eight bytes: one above the largest safe integer.
  const unsafe = Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10);
  assert.ok(readUvarint(unsafe, { pos: 0 }, 8, WIRE_VARINT_MAX_BYTES) > Number.MAX_SAFE_INTEGER);
  assert.throws(() => readVarint(unsafe, { value: 0, pos: 0 }), /safe integer range/);
});
