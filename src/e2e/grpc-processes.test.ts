// End to end between processes on loopback, over each transport (gRPC and raw TCP): the
// rafttoy-follower binary in child processes, and a leader either in this process (so the
// test sees every acknowledgement) or as the rafttoy-leader binary.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { Peer } from "../peer/peer.js";
import { pipelineKinds } from "../pipeline/registry.js";
import { openEngine } from "../storage/engine/registry.js";
import { type Storage, split } from "../storage/storage.js";
import { openWal } from "../storage/wal/registry.js";
import { checkReplicatedAndApplied } from "../testing/cluster-checks.js";
import { memStorage, newTestPeer, proposeMany } from "../testing/in-process-cluster.js";
import {
  loopbackPeers,
  type RunningProcess,
  startBinary,
  startFollower,
  startFollowers,
  startLeader,
  stopProcess,
} from "../testing/processes.js";
import { processTransportKinds, transportSpec } from "../transport/registry.js";

const root = mkdtempSync(join(tmpdir(), "rafttoy-e2e-"));
after(() => rmSync(root, { recursive: true, force: true }));

const TICK = ["--tick", "50ms"];

function follower(
  peers: string[],
  id: number,
  dir: string,
  extra: readonly string[],
): RunningProcess {
  return startFollower(peers, id, dir, [...TICK, ...extra]);
}

interface InTestLeader {
  peer: Peer;
  storage: Storage;
}

/** A leader Peer in this process, on `kind` and in-memory storage, owning the test epoch. */
async function inTestLeader(
  peers: string[],
  pipeline: string,
  kind: string,
): Promise<InTestLeader> {
  const storage = memStorage();
  const transport = transportSpec(kind).create({
    id: 1,
    peers: new Map(peers.map((a, i) => [i + 1, a])),
    logger: { info() {}, warn() {} },
  });
  const ids = peers.map((_, i) => i + 1);
  const peer = newTestPeer(1, ids, transport, storage, pipeline, true);
  await peer.start();
  await peer.campaignUntilLeader(20_000);
  await peer.waitForAllCaughtUp(20_000);
  return { peer, storage };
}

/** Opens a stopped follower's file WAL and lmdb engine to read what it logged and applied. */
async function followerStorage(dir: string, id: number): Promise<Storage> {
  const wal = await openWal("file", { dir: join(dir, `node-${id}`, "wal") });
  const engine = await openEngine("lmdb", { dir: join(dir, `node-${id}`, "engine") });
  return split(wal, engine);
}

for (const kind of processTransportKinds) {
  describe(`over ${kind} between processes`, { concurrency: false }, () => {
    for (const pipeline of pipelineKinds) {
      test(`${pipeline}: acknowledged proposals are logged on a quorum and applied in order`, async () => {
        const dir = join(root, kind, pipeline);
        const peers = await loopbackPeers(3);
        const args = [
          "--pipeline",
          pipeline,
          "--wal",
          "file",
          "--engine",
          "lmdb",
          "--metrics",
          "--transport",
          kind,
        ];
        const followers = await startFollowers(peers, [2, 3], dir, [...TICK, ...args]);
        let leader: InTestLeader | undefined;
        try {
          leader = await inTestLeader(peers, pipeline, kind);
          const result = await proposeMany(leader.peer, 300, 16, "p");
          assert.deepEqual(result.failed, []);
          // Once caught up, one more heartbeat round tells the followers the final commit.
          await leader.peer.waitForAllCaughtUp(10_000);
          await new Promise((r) => setTimeout(r, 200));
          const codes = await Promise.all(followers.map((f) => stopProcess(f)));
          assert.deepEqual(codes, [143, 143], "followers stop cleanly on SIGTERM");
          for (const f of followers) {
            // The metrics dump on SIGTERM.
            assert.match(f.stderr(), /metrics at exit/);
            assert.match(f.stderr(), /append-latency-ns/);
          }
          const stores = [await followerStorage(dir, 2), await followerStorage(dir, 3)];
          try {
            await checkReplicatedAndApplied([leader.storage, ...stores], result, {
              lazyFollowers: pipeline.endsWith("lazy-follower"),
            });
          } finally {
            await Promise.all(stores.map((s) => s.close()));
          }
        } finally {
          await leader?.peer.stop();
          await Promise.all(followers.map((f) => stopProcess(f)));
        }
      });
    }
  });

  describe(`durability over ${kind}`, () => {
    test("a follower killed with SIGKILL restarts on its durable WAL, rejoins and catches up", async () => {
      const dir = join(root, kind, "sigkill");
      const peers = await loopbackPeers(3);
      const args = ["--wal", "file", "--engine", "lmdb", "--transport", kind];
      const followers = await startFollowers(peers, [2, 3], dir, [...TICK, ...args]);
      let restarted: RunningProcess | undefined;
      let leader: InTestLeader | undefined;
      try {
        leader = await inTestLeader(peers, "parallel-append", kind);
        const a = await proposeMany(leader.peer, 200, 8, "a");
        assert.deepEqual(a.failed, []);
        await leader.peer.waitForAllCaughtUp(10_000);
        const victim = followers[1]!;
        victim.child.kill("SIGKILL");
        assert.equal(await victim.exited, 128 + 9);
        // Two of three still form a quorum.
        const b = await proposeMany(leader.peer, 200, 8, "b");
        assert.deepEqual(b.failed, []);
        restarted = follower(peers, 3, dir, args);
        await restarted.waitFor(/restarted at index [1-9]\d*/);
        await leader.peer.waitForAllCaughtUp(20_000);
        const c = await proposeMany(leader.peer, 100, 8, "c");
        assert.deepEqual(c.failed, []);
        await leader.peer.waitForAllCaughtUp(10_000);
        const st = leader.peer.status();
        assert.ok(
          st.progress.get(3)!.match >= st.commit,
          "the restarted follower holds every entry",
        );
        assert.doesNotMatch(restarted.stderr(), /new test epoch/, "it kept its state: no reset");
      } finally {
        await leader?.peer.stop();
        await Promise.all(
          [...followers, ...(restarted ? [restarted] : [])].map((f) => stopProcess(f)),
        );
      }
    });
  });

  describe(`the binaries over ${kind}`, { concurrency: false }, () => {
    test(`${kind}: a leader restart resets the followers through the epoch; they are not restarted`, async () => {
      const dir = join(root, kind, "leader-restart");
      const peers = await loopbackPeers(3);
      const args = ["--wal", "mem", "--engine", "mem", "--transport", kind];
      const followers = await startFollowers(peers, [2, 3], dir, [...TICK, ...args]);
      try {
        for (let round = 1; round <= 2; round++) {
          const leader = startLeader(peers, dir, [
            ...TICK,
            ...args,
            "--bench",
            "conc=4/bytes=256",
            "--benchtime",
            "200x",
            "--count",
            "2",
            "--metrics",
          ]);
          const code = await leader.exited;
          assert.equal(code, 0, `leader run ${round} failed:\n${leader.stderr()}`);
          const lines = leader
            .stdout()
            .split("\n")
            .filter((l) => l.startsWith("BenchmarkRaft/"));
          assert.equal(lines.length, 2, leader.stdout());
          for (const line of lines)
            assert.match(
              line,
              /^BenchmarkRaft\/conc=4\/bytes=256-\d+\s+200\s/,
              `run ${round}:\n${leader.stderr()}`,
            );
          assert.match(leader.stderr(), /metrics at exit/);
          assert.match(leader.stderr(), /proposal-latency-ns/);
        }
        for (const f of followers) {
          assert.equal(f.child.exitCode, null, "a follower exited");
          // Two leader processes, each with its first epoch (the warm-up) and one per run:
          // six epochs, each one a reset.
          const resets = f.stderr().match(/new test epoch/g) ?? [];
          assert.equal(resets.length, 6, f.stderr());
        }
      } finally {
        await Promise.all(followers.map((f) => stopProcess(f)));
      }
    });

    test(`a port in use (${kind}): one line naming the address, non-zero exit`, async () => {
      const [taken, other] = await loopbackPeers(2);
      const blocker = createServer();
      const [host, port] = taken!.split(":");
      await new Promise<void>((resolve) => blocker.listen(Number(port), host, resolve));
      try {
        const p = startBinary("rafttoy-follower", [
          "--peers",
          `${taken},${other}`,
          "--id",
          "1",
          "--data-dir",
          join(root, kind, "port-in-use"),
          "--wal",
          "mem",
          "--engine",
          "mem",
          "--transport",
          kind,
        ]);
        const code = await p.exited;
        assert.notEqual(code, 0, p.stderr());
        const lines = p.stderr().trimEnd().split("\n");
        assert.equal(lines.length, 1, `printed:\n${p.stderr()}`);
        assert.match(lines[0]!, new RegExp(`cannot listen on ${taken!.replace(/\./g, "\\.")}`));
      } finally {
        await new Promise((resolve) => blocker.close(resolve));
      }
    });
  });
}

describe("the binaries", { concurrency: false }, () => {
  test("bad flags: one line saying what to change, exit code 2", async () => {
    const cases: [Parameters<typeof startBinary>[0], string[], RegExp][] = [
      ["rafttoy-follower", ["--peers", "127.0.0.1:1,127.0.0.1:2", "--id", "3"], /--id/],
      ["rafttoy-follower", ["--peers", "nonsense", "--id", "1"], /--peers/],
      ["rafttoy-leader", ["--peers", "127.0.0.1:1", "--id", "1", "--pipeline", "nope"], /pipeline/],
      [
        "rafttoy-leader",
        ["--peers", "127.0.0.1:1", "--id", "1", "--benchtime", "soon"],
        /benchtime/,
      ],
      ["rafttoy-follower", ["--peers", "127.0.0.1:1", "--id", "1", "--bogus"], /bogus/],
    ];
    await Promise.all(
      cases.map(async ([bin, args, re]) => {
        const p = startBinary(bin, args);
        const code = await p.exited;
        assert.equal(code, 2, `${bin} ${args.join(" ")}: ${p.stderr()}`);
        const lines = p.stderr().trimEnd().split("\n");
        assert.equal(lines.length, 1, `${bin} ${args.join(" ")} printed:\n${p.stderr()}`);
        assert.match(lines[0]!, re);
      }),
    );
  });
});
