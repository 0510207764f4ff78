import assert from "node:assert/strict";
import { test } from "node:test";
import { childArgv, NODE_FLAGS_ENV, nodeFlags } from "./node-flags.js";

test("RAFTTOY_NODE_FLAGS is split on any whitespace; unset or blank gives no flags", () => {
  assert.deepEqual(nodeFlags({}), []);
  assert.deepEqual(nodeFlags({ [NODE_FLAGS_ENV]: "  " }), []);
  assert.deepEqual(
    nodeFlags({ [NODE_FLAGS_ENV]: " --heap-growing-percent=400\t--max-semi-space-size=8 " }),
    ["--heap-growing-percent=400", "--max-semi-space-size=8"],
  );
});

test("node flags go before the script, the script's own flags after it", () => {
  // Node reads its own flags only before the script; after it they would reach the bin's
  // parser and be refused as unknown.
  assert.deepEqual(childArgv(["--heap-growing-percent=400"], "/d/rafttoy-kv.js", ["--id", "1"]), [
    "--heap-growing-percent=400",
    "/d/rafttoy-kv.js",
    "--id",
    "1",
  ]);
  assert.deepEqual(childArgv([], "/d/rafttoy-leader.js", ["--id", "1"]), [
    "/d/rafttoy-leader.js",
    "--id",
    "1",
  ]);
});
