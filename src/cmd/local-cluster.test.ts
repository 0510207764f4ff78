import assert from "node:assert/strict";
import { test } from "node:test";
import { SHARED_NODE_FLAGS } from "../cli/args.js";
import { splitArgs } from "./local-cluster.js";

test("splitArgs forwards component and timing flags to every process, the rest to the leader", () => {
  const { shared, leader } = splitArgs([
    "--wal",
    "file",
    "--no-metrics",
    "--bench",
    "conc=1/",
    "--metrics",
    "--tick=50ms",
    "--count",
    "3",
    "--engine",
    "mem",
  ]);
  assert.deepEqual(shared, [
    "--wal",
    "file",
    "--no-metrics",
    "--metrics",
    "--tick=50ms",
    "--engine",
    "mem",
  ]);
  assert.deepEqual(leader, ["--bench", "conc=1/", "--count", "3"]);
});

test("every shared node flag reaches every process", () => {
  for (const flag of SHARED_NODE_FLAGS) {
    const args = flag === "metrics" ? [`--${flag}`] : [`--${flag}`, "x"];
    assert.deepEqual(splitArgs(args), { shared: args, leader: [] }, `--${flag}`);
  }
});
