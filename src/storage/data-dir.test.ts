import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { DataDirChildReport } from "../testing/data-dir-child.js";
import { openDataDir } from "./data-dir.js";
import { LOCK_FILE } from "./dir-lock.js";

function tempRoot(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-datadir-"));
}

const childPath = fileURLToPath(
  new URL(
    `../testing/data-dir-child${path.extname(fileURLToPath(import.meta.url))}`,
    import.meta.url,
  ),
);
/** A child that has not answered by then is stuck (the bug these tests guard against). */
const CHILD_TIMEOUT_MS = 15_000;

/** This process's node flags minus the test runner's own (and their values). */
function loaderArgs(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--test")) out.push(a);
    else if (!a.includes("=") && a !== "--test" && a !== "--test-only") i++;
  }
  return out;
}

interface Child {
  process: ChildProcess;
  /** The child's one JSON line. */
  report: Promise<DataDirChildReport>;
  exited: Promise<number | string>;
}

/** Runs data-dir-child in its own process, killed if it has not reported in time. */
function startChild(mode: "open" | "hold", dir: string): Child {
  const child = spawn(process.execPath, [...loaderArgs(), childPath, mode, dir], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
  let out = "";
  let err = "";
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? signal ?? "unknown");
    });
  });
  const report = new Promise<DataDirChildReport>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(timer);
        resolve(JSON.parse(out.slice(0, nl)) as DataDirChildReport);
      }
    });
    void exited.then((how) =>
      reject(new Error(`data-dir child ended (${how}) without a report: ${err.trim()}`)),
    );
  });
  return { process: child, report, exited };
}

describe("data dir", () => {
  test("a missing dir is created and stamped; the same node opens it again", async () => {
    const root = tempRoot();
    try {
      const dir = path.join(root, "a", "b");
      const d = await openDataDir(dir, { clusterId: "c1", nodeId: 2 });
      assert.ok(fs.statSync(dir).isDirectory());
      const wal = await d.sub("wal");
      assert.ok(fs.statSync(wal).isDirectory());
      await openDataDir(dir, { clusterId: "c1", nodeId: 2 });
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("another node's or another cluster's dir is refused, naming path and remedy", async () => {
    const root = tempRoot();
    try {
      await openDataDir(root, { clusterId: "c1", nodeId: 2 });
      await assert.rejects(
        openDataDir(root, { clusterId: "c1", nodeId: 3 }),
        (e: Error) =>
          e.message.includes(root) &&
          /holds node 2 .*remove it or pass another --data-dir/.test(e.message),
      );
      await assert.rejects(
        openDataDir(root, { clusterId: "c2", nodeId: 2 }),
        /cluster "c1", not node 2 of cluster "c2"/,
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("a non-empty dir without an identity is refused", async () => {
    const root = tempRoot();
    try {
      fs.writeFileSync(path.join(root, "notes.txt"), "mine");
      await assert.rejects(
        openDataDir(root, { clusterId: "c1", nodeId: 1 }),
        /not empty and holds no rafttoy node \(found notes.txt\): pass an empty or new --data-dir/,
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("a dir that cannot be created is an error naming it", async () => {
    const root = tempRoot();
    try {
      const file = path.join(root, "file");
      fs.writeFileSync(file, "");
      const dir = path.join(file, "sub"); // under a regular file: cannot exist
      await assert.rejects(
        openDataDir(dir, { clusterId: "c1", nodeId: 1 }),
        (e: Error) =>
          e.message.includes(dir) && /not writable .*pass another --data-dir/.test(e.message),
      );
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("a read-only dir is refused when permissions apply", {
    skip: process.getuid?.() === 0,
  }, async () => {
    const root = tempRoot();
    try {
      fs.chmodSync(root, 0o500);
      await assert.rejects(
        openDataDir(root, { clusterId: "c1", nodeId: 1 }),
        /not writable \(EACCES\)/,
      );
    } finally {
      fs.chmodSync(root, 0o700);
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("a dir under /proc is an error naming it, not an endless loop", {
    skip: !fs.existsSync("/proc/self"),
  }, async () => {
    // Node's recursive mkdir spins forever here; run it in a child so a regression fails
    // the test in bounded time instead of hanging the suite.
    for (const dir of ["/proc/rafttoy-no-such-dir", "/proc/rafttoy-no-such-dir/sub"]) {
      const child = startChild("open", dir);
      const report = await child.report;
      await child.exited;
      assert.ok(report.error?.includes(dir), `error for ${dir}: ${report.error}`);
      assert.match(report.error!, /not writable \(ENOENT\): .*pass another --data-dir/);
    }
  });

  test("a dir held by another running process is refused, naming the path and its pid", async () => {
    const root = tempRoot();
    const holder = startChild("hold", root);
    try {
      const held = await holder.report;
      assert.equal(held.error, undefined);
      await assert.rejects(openDataDir(root, { clusterId: "c1", nodeId: 1 }), (e: Error) => {
        assert.ok(e.message.includes(root), e.message);
        assert.match(e.message, new RegExp(`in use by process ${held.pid}\\b`));
        assert.match(e.message, /stop that process or pass another --data-dir/);
        assert.equal(e.message.split("\n").length, 1);
        return true;
      });
      // A second process is refused the same way.
      const second = startChild("open", root);
      const refused = await second.report;
      await second.exited;
      assert.match(refused.error ?? "", new RegExp(`in use by process ${held.pid}\\b`));
      // Exiting normally releases the lock.
      holder.process.stdin!.end();
      assert.equal(await holder.exited, 0);
      assert.equal(fs.existsSync(path.join(root, LOCK_FILE)), false);
      const d = await openDataDir(root, { clusterId: "c1", nodeId: 1 });
      await d.release();
    } finally {
      holder.process.kill("SIGKILL");
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("the lock of a killed process is stale and taken over", async () => {
    const root = tempRoot();
    const holder = startChild("hold", root);
    try {
      const held = await holder.report;
      assert.equal(held.error, undefined);
      holder.process.kill("SIGKILL");
      await holder.exited;
      const lock = path.join(root, LOCK_FILE);
      assert.equal(fs.readFileSync(lock, "utf8").trim(), String(held.pid), "the lock was left");
      const d = await openDataDir(root, { clusterId: "c1", nodeId: 1 });
      assert.equal(fs.readFileSync(lock, "utf8").trim(), String(process.pid));
      // Now ours: another process is refused, naming this one.
      const other = startChild("open", root);
      const refused = await other.report;
      await other.exited;
      assert.match(refused.error ?? "", new RegExp(`in use by process ${process.pid}\\b`));
      await d.release();
      assert.equal(fs.existsSync(lock), false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  test("a lock file holding garbage is replaced", async () => {
    const root = tempRoot();
    try {
      await openDataDir(root, { clusterId: "c1", nodeId: 1 }).then((d) => d.release());
      fs.writeFileSync(path.join(root, LOCK_FILE), "not a pid");
      const d = await openDataDir(root, { clusterId: "c1", nodeId: 1 });
      assert.equal(fs.readFileSync(path.join(root, LOCK_FILE), "utf8").trim(), String(process.pid));
      await d.release();
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
