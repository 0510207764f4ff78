import assert from "node:assert/strict";
import { test } from "node:test";
import { rng } from "../check/generate.js";
import { PARTITION_KINDS, type PartitionPlan, planPartition } from "./partitions.js";

/** Which nodes can exchange messages under the plan. */
function reaches(plan: PartitionPlan, a: number, b: number): boolean {
  return !(plan.cuts.get(a) ?? []).includes(b);
}

/** The nodes that can reach every other node of a group containing `n`, by one hop. */
function sideOf(plan: PartitionPlan, n: number, size: number): number[] {
  return Array.from({ length: size }, (_, i) => i).filter((m) => reaches(plan, n, m));
}

test("every partition plan is symmetric and never cuts a node from itself", () => {
  for (const size of [3, 5])
    for (const kind of PARTITION_KINDS)
      for (let seed = 1; seed <= 50; seed++) {
        const plan = planPartition(kind, size, seed % size, rng(seed));
        const where = `${kind}, ${size} nodes, seed ${seed}`;
        for (const [a, from] of plan.cuts) {
          assert.ok(!from.includes(a), `${where}: ${a} cut from itself`);
          for (const b of from) assert.ok(!reaches(plan, b, a), `${where}: ${a}→${b} one-way`);
        }
        assert.ok(plan.cuts.size > 0, `${where}: nothing cut`);
      }
});

test("partition kinds take the shapes they name", () => {
  for (const size of [3, 5])
    for (let seed = 1; seed <= 50; seed++) {
      const leader = seed % size;
      const where = `${size} nodes, seed ${seed}`;
      const lead = planPartition("partition-leader", size, leader, rng(seed));
      assert.equal(lead.node, leader, where);
      assert.deepEqual(sideOf(lead, leader, size), [leader], `${where}: leader alone`);

      const follower = planPartition("partition-follower", size, leader, rng(seed));
      assert.notEqual(follower.node, leader, where);
      assert.deepEqual(sideOf(follower, follower.node, size), [follower.node], where);
      assert.ok(
        sideOf(follower, leader, size).length === size - 1,
        `${where}: leader keeps the rest`,
      );

      const split = planPartition("partition-split", size, leader, rng(seed));
      const minority = sideOf(split, split.node, size);
      assert.equal(minority.length, Math.floor((size - 1) / 2), `${where}: ${split.shape}`);

      const bridge = planPartition("partition-bridge", size, leader, rng(seed));
      assert.equal(bridge.cuts.has(bridge.node), false, `${where}: the bridge reaches all`);
      // Everyone else reaches the bridge and is cut from the other half (3 or 5 nodes: the
      // halves are equal) only.
      assert.equal(bridge.cuts.size, size - 1, where);
      for (const [n, from] of bridge.cuts) {
        assert.ok(reaches(bridge, n, bridge.node), where);
        assert.equal(from.length, (size - 1) / 2, `${where}: ${bridge.shape}`);
      }
    }
});

test("a plan is a function of the seed: the same seed gives the same shape", () => {
  for (const kind of PARTITION_KINDS)
    assert.equal(planPartition(kind, 5, 2, rng(9)).shape, planPartition(kind, 5, 2, rng(9)).shape);
});
