import assert from "node:assert/strict";
import { test } from "node:test";
import { dropsVerdict, EXIT_DROPPED } from "./exit-codes.js";

test("drops make a non-zero exit unless allowed, and the line says so either way", () => {
  const dropped = { total: 30, failures: { "not leader": 10, "timed out": 20 } };
  const refused = dropsVerdict(dropped, false);
  assert.equal(refused.code, EXIT_DROPPED);
  assert.match(refused.line!, /^30 proposals dropped or timed out \(20 timed out; 10 not leader\)/);
  assert.match(refused.line!, /--allow-drops/);
  const allowed = dropsVerdict(dropped, true);
  assert.equal(allowed.code, 0);
  assert.match(allowed.line!, /accepted by --allow-drops/);
  assert.deepEqual(dropsVerdict({ total: 0, failures: {} }, false), { code: 0, line: undefined });
});
