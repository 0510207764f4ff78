import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { failures, formatScan, scanImports, sourceRoot } from "./import-scan.js";

const planted = mkdtempSync(join(tmpdir(), "rafttoy-imports-"));
after(() => rmSync(planted, { recursive: true, force: true }));

/** Writes a small src/ tree: path (relative to src/) to the file's import lines. */
function plant(name: string, files: Record<string, string[]>): string {
  const root = join(planted, name, "src");
  for (const [path, imports] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), `${imports.join("\n")}\nexport const x = 1;\n`);
  }
  return root;
}

describe("the import check", () => {
  test("src/ follows the layer order and has no cycle", (t) => {
    const result = scanImports(sourceRoot());
    const report = formatScan(result);
    // The summary line is the check's output for the record.
    t.diagnostic(report.at(-1) ?? "");
    assert.ok(result.files > 100, `read only ${result.files} files under ${sourceRoot()}`);
    assert.equal(failures(result), 0, report.join("\n"));
  });

  test("a planted upward import fails, naming the file, line and layers", () => {
    const root = plant("upward", {
      "raft/log.ts": [
        'import { a } from "./util.js";',
        'import { startNode } from "../node/node.js";',
      ],
      "raft/util.ts": [],
      "node/node.ts": ['import { a } from "../raft/util.js";'],
    });
    const result = scanImports(root);
    assert.deepEqual(
      result.violations.map((v) => `${v.arrow.from}:${v.arrow.line} ${v.reason}`),
      ["raft/log.ts:2 upward: raft (layer 1) imports node (layer 6)"],
    );
  });

  test("a sideways import between siblings, a multi-line one and a dynamic one all count", () => {
    const root = plant("sideways", {
      "storage/wal.ts": ["import {", "  type Transport,", '} from "../transport/transport.js";'],
      "transport/transport.ts": [],
      "peer/peer.ts": ['const m = await import("../node/node.js");'],
      "node/node.ts": [],
    });
    const reasons = scanImports(root).violations.map((v) => `${v.arrow.from} ${v.reason}`);
    assert.deepEqual(reasons.sort(), [
      "peer/peer.ts upward: peer (layer 5) imports node (layer 6)",
      "storage/wal.ts sideways: storage and transport are siblings in layer 3",
    ]);
  });

  test("tests may import any layer; product code may not import test support or the core's tools", () => {
    const root = plant("tests", {
      "raft/log.test.ts": ['import { x } from "../testing/cluster.js";'],
      "testing/cluster.ts": ['import { x } from "../node/node.js";'],
      "node/node.ts": [],
      "cmd/bin.ts": ['import { x } from "../testing/cluster.js";'],
      "raft/raft.ts": ['import { x } from "./sim/world.js";'],
      "raft/sim/world.ts": ['import { x } from "../log.js";'],
      "raft/log.ts": [],
    });
    const reasons = scanImports(root).violations.map((v) => `${v.arrow.from} ${v.reason}`);
    assert.deepEqual(reasons.sort(), [
      "cmd/bin.ts upward: cmd (layer 9) imports testing (layer 10)",
      "raft/raft.ts the core (src/raft/*.ts) imports its tool src/raft/sim/world.ts",
    ]);
  });

  test("a planted cycle fails, even through type-only imports and within one folder", () => {
    const root = plant("cycle", {
      "peer/a.ts": ['import type { B } from "./b.js";'],
      "peer/b.ts": ['import { c } from "./c.js";'],
      "peer/c.ts": ['export { a } from "./a.js";'],
      "peer/d.ts": ['import { a } from "./a.js";'],
    });
    const result = scanImports(root);
    assert.deepEqual(result.cycles, [["peer/a.ts", "peer/b.ts", "peer/c.ts", "peer/a.ts"]]);
  });

  test("a folder in no layer is reported, so a new one must be placed", () => {
    const root = plant("unplaced", {
      "gossip/gossip.ts": ['import { x } from "../raft/log.js";'],
      "raft/log.ts": [],
    });
    assert.match(scanImports(root).violations[0]?.reason ?? "", /src\/gossip\/ is in no layer/);
  });
});
