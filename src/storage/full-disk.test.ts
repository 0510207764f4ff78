// A full disk (simulated by a file size limit on a child process) makes the failing write
// reject with the cause, every later write fail the same way, and loses nothing that was
// acknowledged: after a restart without the limit, every acknowledged entry is there.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { FullDiskReport } from "../testing/full-disk-child.js";
import { openLmdbEngine } from "./engine/lmdb-engine.js";
import { openLmdbStorage } from "./lmdb-storage.js";
import { openFileWal } from "./wal/file-wal.js";
import { openLmdbWal } from "./wal/lmdb-wal.js";
import type { Wal } from "./wal/wal.js";

const childPath = fileURLToPath(
  new URL(
    `../testing/full-disk-child${path.extname(fileURLToPath(import.meta.url))}`,
    import.meta.url,
  ),
);
const LIMIT_KIB = 4096;

function runLimited(mode: string, dir: string): Promise<FullDiskReport> {
  const execArgv = process.execArgv.filter((a) => !a.startsWith("--test"));
  const args = [process.execPath, ...execArgv, childPath, mode, dir];
  const child = spawn("bash", ["-c", `ulimit -f ${LIMIT_KIB}; exec "$@"`, "bash", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      const line = out.trim().split("\n").pop() ?? "";
      if (code !== 0 || !line.startsWith("{")) {
        reject(new Error(`child exited with ${code ?? signal}: ${err.trim() || out.trim()}`));
        return;
      }
      resolve(JSON.parse(line) as FullDiskReport);
    });
  });
}

describe("full disk", () => {
  for (const mode of ["wal", "storage"] as const) {
    test(`lmdb ${mode}: the failed write rejects and nothing acknowledged is lost`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-full-"));
      try {
        const report = await runLimited(mode, dir);
        assert.ok(
          report.error !== undefined,
          `${LIMIT_KIB} KiB must fill up: ${JSON.stringify(report)}`,
        );
        assert.match(report.error, /write failed \(.+\).*stop the node/);
        assert.equal(report.errorAfter, report.error, "later writes fail with the same error");
        assert.ok(report.acked > 0);

        let wal: Wal;
        let close: () => Promise<void>;
        if (mode === "wal") {
          wal = await openLmdbWal({ dir });
          close = () => wal.close();
        } else {
          const storage = await openLmdbStorage({ dir });
          wal = storage.wal;
          close = () => storage.close();
          assert.ok(storage.engine.hardState().commit >= report.acked - 7);
        }
        try {
          assert.ok(
            wal.lastIndex() >= report.acked,
            `acked ${report.acked}, log ends at ${wal.lastIndex()}`,
          );
          for (const e of wal.entries(1, report.acked + 1)) {
            assert.equal(e.data.byteLength, 4096);
            assert.equal(e.data[100], e.index & 0xff, `entry ${e.index} content`);
          }
        } finally {
          await close();
        }
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test("lmdb engine: a failed write-back poisons the engine; every write-back acknowledged survives", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-full-"));
    try {
      const report = await runLimited("engine", dir);
      assert.ok(
        report.error !== undefined,
        `${LIMIT_KIB} KiB must fill up: ${JSON.stringify(report)}`,
      );
      assert.match(report.error, /lmdb engine in .*write failed \(.+\).*stop the node/);
      assert.equal(report.fault, true);
      assert.equal(
        report.errorAfter,
        report.error,
        "an apply after the failure fails the same way",
      );
      assert.ok(report.acked > 0);
      const engine = await openLmdbEngine({ dir });
      try {
        assert.ok(engine.appliedIndex() >= report.acked, `acked ${report.acked}`);
        const view = engine.readView();
        for (let index = 1; index <= report.acked; index++) {
          // The child's put: a 4-byte little-endian key, 4 KiB of index & 0xff.
          const want = new Uint8Array(4096).fill(index & 0xff);
          const key = Buffer.alloc(4);
          key.writeUInt32LE(index);
          assert.deepEqual(view.get(key), want, `key ${index}`);
        }
      } finally {
        await engine.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("file wal: a write that fails names the segment and is a storage fault; acked entries survive", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-full-"));
    try {
      const report = await runLimited("file", dir);
      assert.ok(report.error !== undefined, JSON.stringify(report));
      assert.match(report.error, /wal: writing .*\.wal at offset \d+ failed \(EFBIG\)/);
      assert.equal(report.fault, true);
      assert.equal(report.errorAfter, report.error, "later writes fail with the same error");
      const wal = await openFileWal({ dir, segmentBytes: 1 << 20 });
      try {
        assert.ok(
          wal.lastIndex() >= report.acked,
          `acked ${report.acked}, log ends at ${wal.lastIndex()}`,
        );
        for (const e of wal.entries(1, report.acked + 1)) {
          assert.equal(e.data[100], e.index & 0xff, `entry ${e.index} content`);
        }
      } finally {
        await wal.close();
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("file wal: a first segment that cannot be preallocated is removed and the error says its size", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-full-"));
    try {
      const report = await runLimited("file-open", dir);
      assert.ok(report.error !== undefined, JSON.stringify(report));
      assert.equal(report.fault, true);
      assert.ok(report.error.includes(dir), report.error);
      assert.match(report.error, /cannot create segment .* preallocated to 64 MiB each/);
      assert.deepEqual(report.files, [], "the partial segment is removed");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
