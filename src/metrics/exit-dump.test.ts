import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { APPEND_LATENCY } from "./names.js";

// The fixture sits beside this file: .ts under tsx, .js once compiled. The test runner's own
// flags are dropped; a loader (tsx) in execArgv is kept so the child can run the .ts file.
const extension = import.meta.url.endsWith(".ts") ? ".ts" : ".js";
const fixture = fileURLToPath(new URL(`../testing/exit-dump-child${extension}`, import.meta.url));
const nodeFlags = process.execArgv.filter((flag) => !flag.startsWith("--test"));

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

async function runUntilReady(
  args: string[],
): Promise<{ child: ChildProcess; ended: Promise<Ended> }> {
  const child = spawn(process.execPath, [...nodeFlags, fixture, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ended = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
    stdout,
    stderr,
  }));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("ready\n")) resolve();
    });
    child.once("exit", () => reject(new Error(`fixture exited before ready: ${stderr}`)));
  });
  return { child, ended };
}

function dumpCount(stderr: string): number {
  return stderr.split("metrics at exit").length - 1;
}

describe("installExitDump", () => {
  for (const [signal, code] of [
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const) {
    test(`${signal}: dumps once and exits with ${code}`, async () => {
      const { child, ended } = await runUntilReady([]);
      child.kill(signal);
      const end = await ended;
      assert.equal(end.code, code, `stderr: ${end.stderr}`);
      assert.equal(dumpCount(end.stderr), 1, end.stderr);
      assert.match(end.stderr, new RegExp(`metrics at exit \\(${signal}\\)`));
      const row = end.stderr.split("\n").find((line) => line.startsWith(APPEND_LATENCY));
      assert.ok(row, `no ${APPEND_LATENCY} row in: ${end.stderr}`);
      assert.equal(row.split(/\s+/)[2], "100", "the fixture recorded 100 values");
    });
  }

  test("a program's own SIGTERM handler finishes before the dump and chooses the exit code", async () => {
    const { child, ended } = await runUntilReady(["graceful"]);
    child.kill("SIGTERM");
    const end = await ended;
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /drained/);
    assert.equal(dumpCount(end.stderr), 1, end.stderr);
    assert.match(end.stderr, /metrics at exit \(exit code 0\)/);
  });
});
