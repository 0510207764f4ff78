import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { flockHolders, lockNotice, noticeLockWait, parentPid } from "./bench-lock.js";

const MODULE = fileURLToPath(new URL("./bench-lock.js", import.meta.url));

describe("the benchmark lock notice (kv-bench)", () => {
  let dir = "";
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) c.kill("SIGKILL");
    if (dir !== "") await rm(dir, { recursive: true, force: true });
  });

  /** A lock file of the test's own (never /tmp/bench.lock, which other timings use). */
  async function lockFile(): Promise<string> {
    dir ||= await mkdtemp(join(tmpdir(), "bench-lock-"));
    const path = join(dir, `lock-${children.length}`);
    await writeFile(path, "");
    return path;
  }

  /** Holds `lock` with flock until killed; resolves once it is held. */
  async function hold(lock: string): Promise<void> {
    const child = spawn("flock", [lock, "sleep", "60"], { stdio: "ignore" });
    children.push(child);
    // Held once a non-blocking attempt fails.
    for (;;) {
      const free = await new Promise<boolean>((resolve) =>
        execFile("flock", ["-n", lock, "true"], (err) => resolve(err === null)),
      );
      if (!free) return;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  test("reads flock holders (not waiters) of one inode from /proc/locks", () => {
    const text = [
      "1: FLOCK  ADVISORY  WRITE 9160 fe:00:2146531 0 EOF",
      "1: -> FLOCK  ADVISORY  WRITE 9298 fe:00:2146531 0 EOF",
      "2: POSIX  ADVISORY  WRITE 77 fe:00:2146531 0 EOF",
      "3: FLOCK  ADVISORY  WRITE 4242 fe:00:999 0 EOF",
      "",
    ].join("\n");
    assert.deepEqual(flockHolders(text, 2146531), [9160]);
    assert.deepEqual(flockHolders(text, 999), [4242]);
    assert.equal(parentPid("123 (a (b) c) S 45 123 123 0"), 45);
  });

  test("a lock free: nothing is said", async () => {
    const lock = await lockFile();
    const lines: string[] = [];
    await noticeLockWait("kv-bench", lock, (l) => lines.push(l), 1);
    assert.deepEqual(lines, []);
  });

  test("a lock another process holds: says which lock, who holds it, and why it waits", async () => {
    const lock = await lockFile();
    await hold(lock);
    const lines: string[] = [];
    await noticeLockWait("kv-bench", lock, (l) => lines.push(l), 1);
    assert.equal(lines.length, 1);
    assert.match(
      lines[0]!,
      new RegExp(`^kv-bench: waiting for ${lock} \\(held by pid \\d+ \\(flock `),
    );
    assert.match(lines[0]!, /no two timings on this machine overlap/);
    assert.match(lines[0]!, /if kv-bench was started under flock/);
  });

  test("a lock its own ancestor holds (started under flock): says it waits for ever", async () => {
    const lock = await lockFile();
    const script = `import(${JSON.stringify(MODULE)}).then((m) => m.noticeLockWait("kv-bench", ${JSON.stringify(lock)}, (l) => console.log(l), 1))`;
    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        "flock",
        [lock, process.execPath, "--input-type=module", "-e", script],
        { timeout: 20_000 },
        (err, stdout) => (err ? reject(err) : resolve(stdout)),
      ),
    );
    assert.match(
      out,
      /is an ancestor of this process: it was started under flock .*waits for ever/,
    );
  });

  test("the message without a known holder still names the lock and the usual cause", () => {
    const text = lockNotice("kv-bench", "/tmp/x.lock", []);
    assert.match(text, /waiting for \/tmp\/x\.lock \(its holder is unknown\)/);
    assert.match(text, /flock \/tmp\/x\.lock make bench-kv/);
  });
});
