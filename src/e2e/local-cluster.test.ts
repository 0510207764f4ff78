import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { binaryCommand } from "../testing/processes.js";

/** Runs local-cluster in `cwd` to its end; stdout and stderr apart. */
function runLocalCluster(cwd: string, args: readonly string[]) {
  const [cmd, ...pre] = binaryCommand("local-cluster");
  const child = spawn(cmd!, [...pre, ...args], {
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, CI: "1" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}

test("local-cluster: result lines alone on stdout; table, paths and report on stderr; no chatter", async () => {
  const cwd = mkdtempSync(join(tmpdir(), "rafttoy-local-cluster-"));
  try {
    const { code, stdout, stderr } = await runLocalCluster(cwd, [
      "--wal",
      "mem",
      "--engine",
      "mem",
      "--bench",
      "conc=4/bytes=64",
      "--benchtime",
      "300x",
      "--count",
      "2",
      "--json",
      "out/run.json",
      "--cpu-prof",
      "prof",
    ]);
    assert.equal(code, 0, stderr);
    const lines = stdout.trimEnd().split("\n");
    assert.equal(lines.length, 3, stdout);
    for (const line of lines)
      assert.match(line, /^(# median of 2: )?BenchmarkRaft\/conc=4\/bytes=64/);
    assert.match(lines[0]!, /floor-ns\s+\S+\s+x-floor/);
    // No epoch, election or unreachable chatter: it is in the log file.
    assert.doesNotMatch(stderr, /epoch|became leader|unreachable/);
    assert.match(stderr, /^conc=4\/bytes=64\s+2\s/m);
    assert.match(stderr, /results: out\/run\.json/);
    assert.match(stderr, /log: +out\/run\.log/);
    assert.match(stderr, /report: +out\/report\.html/);
    assert.match(readFileSync(join(cwd, "out/run.log"), "utf8"), /\[follower 2\] .*serving on/);
    assert.ok(existsSync(join(cwd, "out/report.html")));
    const report = JSON.parse(readFileSync(join(cwd, "out/run.json"), "utf8"));
    // One profile per process, named by role, in the format DevTools loads.
    for (const role of ["leader", "follower-2", "follower-3"]) {
      const profile = JSON.parse(readFileSync(join(cwd, "prof", `${role}.cpuprofile`), "utf8"));
      assert.ok(Array.isArray(profile.nodes) && profile.nodes.length > 0, role);
    }
    assert.match(stderr, /CPU profiles in prof\/.*Chrome DevTools/);
    // The followers answered: their own syncs are in the floor.
    assert.equal(report.runs[0].floor.components.followerSyncSource, "followers");
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

for (const [flags, message] of [
  [
    ["--bench", "nothing-matches"],
    /^local-cluster: --bench "nothing-matches" matches no benchmark/,
  ],
  [["--wal", "bogus"], /^local-cluster: --wal "bogus" is unknown: use one of /],
] as const) {
  test(`local-cluster ${flags.join(" ")}: refused in one line, exit 2, before any process starts`, async () => {
    const cwd = mkdtempSync(join(tmpdir(), "rafttoy-local-cluster-"));
    try {
      const { code, stdout, stderr } = await runLocalCluster(cwd, [...flags]);
      assert.equal(code, 2, "a usage error is the session's exit code");
      assert.equal(stdout, "");
      assert.match(stderr, message);
      assert.equal(stderr.trimEnd().split("\n").length, 1, stderr);
      // Nothing was started: no data directory, no result file.
      assert.equal(existsSync(join(cwd, ".data")), false);
      assert.equal(existsSync(join(cwd, "results")), false);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
}
