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
import type { FullDiskReport } from "./full-disk-child.js";
import { openLmdbStorage } from "./lmdb-storage.js";
import { openLmdbWal } from "./wal/lmdb-wal.js";
import type { Wal } from "./wal/wal.js";

const childPath = fileURLToPath(
  new URL(`./full-disk-child${path.extname(fileURLToPath(import.meta.url))}`, import.meta.url),
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
});
