import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { silentLogger } from "../../raft/api.js";
import { openWal, walKinds } from "./registry.js";

test("registry: an unknown name lists the names that exist", async () => {
  await assert.rejects(openWal("nope", { dir: "/nonexistent" }), {
    message: 'unknown wal "nope": choose one of mem, file, lmdb',
  });
  assert.deepEqual([...walKinds], ["mem", "file", "lmdb"]);
});

test("registry: every kind opens by name and reports it", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-wal-registry-"));
  try {
    for (const kind of walKinds) {
      const wal = await openWal(kind, {
        dir: path.join(dir, kind),
        syncDelayMs: 0,
        logger: silentLogger,
      });
      assert.equal(wal.kind, kind);
      await wal.close();
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("registry: a file wal in an unusable directory is a one-line error naming the path", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-wal-registry-"));
  const blocker = path.join(dir, "a-file");
  fs.writeFileSync(blocker, "");
  try {
    await assert.rejects(
      openWal("file", { dir: path.join(blocker, "wal") }),
      (e: Error) => e.message.includes(path.join(blocker, "wal")) && !e.message.includes("\n"),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
