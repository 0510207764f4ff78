// Lost quorum is an error: with both followers killed in the middle of a run, the leader
// binary stops within a bounded time with one line that says so and a non-zero exit.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { EXIT_FAILED } from "../cli/exit-codes.js";
import {
  loopbackPeers,
  type RunningProcess,
  startBinary,
  stopProcess,
} from "../testing/processes.js";

const root = mkdtempSync(join(tmpdir(), "rafttoy-quorum-"));
after(() => rmSync(root, { recursive: true, force: true }));

const common = (peers: string[], id: number) => [
  "--peers",
  peers.join(","),
  "--id",
  String(id),
  "--data-dir",
  join(root, `node-${id}`),
  "--tick",
  "50ms",
  "--wal",
  "mem",
  "--engine",
  "mem",
];

test("both followers killed mid-run: one line, exit 1, long before the run would end", async () => {
  const peers = await loopbackPeers(3);
  const followers = [2, 3].map((id) => startBinary("rafttoy-follower", common(peers, id)));
  let leader: RunningProcess | undefined;
  try {
    await Promise.all(followers.map((f) => f.waitFor(/serving on/)));
    leader = startBinary("rafttoy-leader", [
      ...common(peers, 1),
      "--bench",
      "conc=16/bytes=256",
      "--benchtime",
      "60s",
    ]);
    await leader.waitFor(/warmed up/);
    await new Promise((r) => setTimeout(r, 2_000));
    for (const f of followers) f.child.kill("SIGKILL");
    const timer = setTimeout(() => leader?.child.kill("SIGKILL"), 30_000);
    const code = await leader.exited;
    clearTimeout(timer);
    assert.equal(code, EXIT_FAILED, leader.stderr());
    const lines = leader.stderr().trimEnd().split("\n");
    assert.match(lines[lines.length - 1]!, /^rafttoy-leader: lost (quorum|leadership)/);
    assert.doesNotMatch(leader.stderr(), /^\s+at /m, "no stack trace");
    assert.doesNotMatch(leader.stdout(), /^BenchmarkRaft/m, "no result line for the lost run");
  } finally {
    if (leader !== undefined) await stopProcess(leader);
    await Promise.all(followers.map((f) => stopProcess(f)));
  }
});
