// Storage faults answered in one line by the real binaries: a full disk at start (a small
// tmpfs, so only as root) and lmdb files with bytes written over their meta pages.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { EntryType } from "../raft/types.js";
import { startBinary } from "../testing/processes.js";
import { freePorts } from "../transport/free-ports.js";
import { checkLmdbFiles } from "./lmdb-check.js";
import { openLmdbStorage } from "./lmdb-storage.js";
import { isStorageFault } from "./storage-fault.js";

const isRoot = process.getuid?.() === 0;

async function peersArg(): Promise<string> {
  return (await freePorts(3)).map((p) => `127.0.0.1:${p}`).join(",");
}

/** Runs a follower until it exits (it must, within the timeout) and returns what it said. */
async function followerExit(args: string[]): Promise<{ code: number; stderr: string }> {
  const p = startBinary("rafttoy-follower", args);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), 20_000);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stderr: p.stderr() };
}

/** A combined lmdb storage with a few hundred entries, closed. */
async function writeLmdb(dir: string): Promise<void> {
  const s = await openLmdbStorage({ dir });
  for (let i = 1; i <= 400; i += 20) {
    const entries = Array.from({ length: 20 }, (_, k) => ({
      index: i + k,
      term: 1,
      type: EntryType.Normal,
      data: new Uint8Array(200).fill(k),
    }));
    await s.persist({ entries, hardState: { term: 1, vote: 1, commit: i + 19 } }, true);
  }
  await s.close();
}

function overwrite(file: string, at: number, bytes: Buffer): void {
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, bytes, 0, bytes.length, at);
  fs.closeSync(fd);
}

describe("damaged lmdb files", () => {
  // Each way of writing over the meta pages that crashed lmdb (SIGSEGV) before the check.
  const damages: [string, (file: string) => void][] = [
    ["random bytes over both meta pages", (f) => overwrite(f, 0, Buffer.alloc(8192, 0x5a))],
    [
      "tree records of both meta pages",
      (f) => {
        for (const base of [0, 4096]) overwrite(f, base + 0x60, Buffer.alloc(96, 0xa7));
      },
    ],
    ["meta page 1 only", (f) => overwrite(f, 4096, Buffer.alloc(4096, 0x11))],
    ["the half-page meta", (f) => overwrite(f, 2048, Buffer.alloc(2048, 0x33))],
  ];

  test("an intact file passes the check and reopens", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-lmdbok-"));
    try {
      await writeLmdb(dir);
      checkLmdbFiles(dir);
      const s = await openLmdbStorage({ dir });
      assert.equal(s.wal.lastIndex(), 400);
      await s.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const [name, damage] of damages) {
    test(`${name}: a StorageFault naming the file, before lmdb maps it`, async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-lmdbbad-"));
      try {
        await writeLmdb(dir);
        const file = path.join(dir, "data.mdb");
        damage(file);
        await assert.rejects(openLmdbStorage({ dir }), (e: unknown) => {
          assert.ok(isStorageFault(e), String(e));
          assert.ok(e.message.includes(file), e.message);
          assert.match(e.message, /is damaged \(.+\)/);
          return true;
        });
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  test("the follower binary says so in one line and exits 2, no crash", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-lmdbbin-"));
    try {
      const peers = await peersArg();
      const args = ["--peers", peers, "--id", "2", "--data-dir", dir, "--wal", "lmdb"];
      const first = startBinary("rafttoy-follower", [...args, "--engine", "lmdb"]);
      await first.waitFor(/serving on/);
      first.child.kill("SIGTERM");
      await first.exited;
      const file = path.join(dir, "lmdb", "data.mdb");
      overwrite(file, 0, Buffer.alloc(8192, 0x5a));
      const { code, stderr } = await followerExit([...args, "--engine", "lmdb"]);
      assert.equal(code, 2, stderr);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.ok(lines[0]!.includes(file), stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("full disk at start", { skip: isRoot ? false : "needs root to mount a tmpfs" }, () => {
  test("a tmpfs smaller than a segment: one line with path and size, no partial file, exit 2", async () => {
    const mount = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-tmpfs-"));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", mount]);
    } catch (err) {
      fs.rmdirSync(mount);
      test.skip?.(`cannot mount a tmpfs: ${String(err)}`);
      return;
    }
    try {
      const dir = path.join(mount, "node-2");
      const { code, stderr } = await followerExit([
        "--peers",
        await peersArg(),
        "--id",
        "2",
        "--data-dir",
        dir,
        "--wal",
        "file",
        "--engine",
        "mem",
      ]);
      assert.equal(code, 2, stderr);
      const lines = stderr.trim().split("\n");
      assert.equal(lines.length, 1, stderr);
      assert.match(lines[0]!, /cannot create segment .*wal.*preallocated to 64 MiB/);
      assert.ok(lines[0]!.includes(path.join(dir, "wal")), stderr);
      assert.deepEqual(
        fs.readdirSync(path.join(dir, "wal")).filter((n) => n.endsWith(".wal")),
        [],
        "no partial segment left",
      );
    } finally {
      execFileSync("umount", [mount]);
      fs.rmdirSync(mount);
    }
  });
});
