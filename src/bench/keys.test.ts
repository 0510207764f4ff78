import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeProposal } from "../proposal/proposal.js";
import { formatKeySpec, keyChooser, parseKeySpec } from "./keys.js";
import { proposalPayloadMaker } from "./payload.js";

const SEED = 7;

describe("--keys", () => {
  test("parses N, unique and zipf:S, and refuses the rest", () => {
    assert.deepEqual(parseKeySpec("100000"), { kind: "uniform", keys: 100_000 });
    assert.deepEqual(parseKeySpec("unique"), { kind: "unique" });
    assert.deepEqual(parseKeySpec("zipf:1.1"), { kind: "zipf", exponent: 1.1, keys: 100_000 });
    for (const bad of ["0", "-5", "zipf", "zipf:0", "zipf:x", "many", ""]) {
      assert.throws(() => parseKeySpec(bad), /is not a key choice/, bad);
    }
    for (const t of ["42", "unique", "zipf:1.5"]) assert.equal(formatKeySpec(parseKeySpec(t)), t);
  });

  test("uniform stays within N and uses most of it", () => {
    const next = keyChooser({ kind: "uniform", keys: 50 }, SEED);
    const seen = new Set<number>();
    for (let i = 0; i < 5_000; i++) {
      const k = next();
      assert.ok(Number.isInteger(k) && k >= 0 && k < 50, `seed ${SEED}: key ${k}`);
      seen.add(k);
    }
    assert.equal(seen.size, 50, `seed ${SEED}`);
  });

  test("unique never repeats a key", () => {
    const next = keyChooser({ kind: "unique" });
    const seen = new Set<number>();
    for (let i = 0; i < 10_000; i++) seen.add(next());
    assert.equal(seen.size, 10_000);
  });

  test("zipf is skewed toward the first keys and stays in range", () => {
    const next = keyChooser({ kind: "zipf", exponent: 1.2, keys: 1_000 }, SEED);
    const counts = new Array<number>(1_000).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const k = next();
      assert.ok(k >= 0 && k < 1_000, `seed ${SEED}: key ${k}`);
      counts[k]!++;
    }
    const head = counts.slice(0, 10).reduce((a, b) => a + b, 0);
    const tail = counts.slice(500).reduce((a, b) => a + b, 0);
    assert.ok(head > tail, `seed ${SEED}: first 10 keys ${head}, last 500 ${tail}`);
  });

  test("the leader's payloads carry the chosen keys", () => {
    const make = proposalPayloadMaker({ kind: "unique" });
    const keys = new Set<string>();
    for (let i = 0; i < 100; i++) {
      const p = decodeProposal(make(0, i, 64));
      assert.equal(p.key.length, 4);
      keys.add(Buffer.from(p.key).toString("hex"));
    }
    assert.equal(keys.size, 100);
  });
});
