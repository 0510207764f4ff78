import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeProposal } from "../proposal/proposal.js";
import { proposalPayloadMaker } from "./payload.js";

describe("proposalPayloadMaker", () => {
  test("payloads are proposals of exactly the asked size that never share bytes", () => {
    const make = proposalPayloadMaker();
    const a = make(1, 0, 600_000);
    const b = make(1, 1, 600_000);
    const c = make(7, 0, 256);
    assert.deepEqual([a.length, b.length, c.length], [600_000, 600_000, 256]);
    const [pa, pb, pc] = [a, b, c].map((p) => decodeProposal(p));
    assert.equal(pb!.id, pa!.id + 1);
    assert.equal(pc!.id, pb!.id + 1);
    assert.equal(pc!.key.length, 4);
    assert.equal(pc!.value.length, 256 - 14);
    a.fill(0xaa);
    assert.equal(decodeProposal(b).id, pb!.id, "writing one payload must not touch another");
    assert.equal(decodeProposal(c).id, pc!.id);
  });

  test("a size too small for the key drops the key; one too small for a proposal is refused", () => {
    const make = proposalPayloadMaker();
    assert.equal(decodeProposal(make(3, 0, 12)).key.length, 0);
    assert.throws(() => make(3, 1, 8), /cannot hold a proposal/);
  });

  test("many small payloads come out of one slab without overlapping", () => {
    const make = proposalPayloadMaker();
    const payloads = Array.from({ length: 5_000 }, (_, i) => make(i % 3, i, 256));
    const ids = payloads.map((p) => decodeProposal(p).id);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(new Set(payloads.map((p) => p.buffer)).size < 10, "payloads share slabs");
  });
});
