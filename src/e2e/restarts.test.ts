// Followers restarted in the middle of an epoch, as real processes on loopback: one whose
// log did not survive (mem WAL) sits the epoch out and rejoins at the next, never crashing;
// a durable one catches up, and the leader says when it has.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { rawNodeBinding } from "../node/raft-binding.js";
import { Peer } from "../peer/peer.js";
import { memStorage, proposeMany } from "../testing/in-process-cluster.js";
import {
  loopbackPeers,
  type RunningProcess,
  startFollower,
  startLeader,
  stopProcess,
} from "../testing/processes.js";
import { GrpcTransport } from "../transport/grpc-transport.js";

const root = mkdtempSync(join(tmpdir(), "rafttoy-restarts-"));
after(() => rmSync(root, { recursive: true, force: true }));

const TICK = ["--tick", "50ms"];

function follower(peers: string[], id: number, dir: string, extra: string[]): RunningProcess {
  return startFollower(peers, id, dir, [...TICK, ...extra]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("follower restarts", { concurrency: false }, () => {
  test("a mem-WAL follower restarted into the same epoch sits it out, then rejoins empty", async () => {
    const dir = join(root, "mem");
    const peers = await loopbackPeers(3);
    const args = ["--wal", "mem", "--engine", "mem"];
    const followers = [follower(peers, 2, dir, args), follower(peers, 3, dir, args)];
    let restarted: RunningProcess | undefined;
    const leaderLog: string[] = [];
    const peer = new Peer({
      id: 1,
      peerIds: [1, 2, 3],
      transport: new GrpcTransport({
        id: 1,
        peers: new Map(peers.map((a, i) => [i + 1, a])),
        logger: { info() {}, warn() {} },
      }),
      storage: memStorage(),
      raft: rawNodeBinding,
      pipeline: "parallel-append",
      tickMs: 50,
      epochOwner: { start: Date.now() },
      log: (l) => leaderLog.push(l),
      onFatal: (err) => {
        throw err;
      },
    });
    try {
      await Promise.all(followers.map((f) => f.waitFor(/serving on/)));
      await peer.start();
      await peer.campaignUntilLeader(20_000);
      await peer.waitForAllCaughtUp(20_000);
      assert.deepEqual((await proposeMany(peer, 300, 8, "a")).failed, []);
      await peer.waitForAllCaughtUp(10_000);

      const victim = followers[1]!;
      victim.child.kill("SIGKILL");
      await victim.exited;
      restarted = follower(peers, 3, dir, args);
      await restarted.waitFor(/did not survive the restart.*sitting that epoch out/);
      // The leader keeps sending it heartbeats whose commit is beyond its (empty) log.
      assert.deepEqual((await proposeMany(peer, 300, 8, "b")).failed, []);
      await sleep(1_000);
      assert.equal(restarted.child.exitCode, null, `it exited:\n${restarted.stderr()}`);
      assert.doesNotMatch(restarted.stderr(), /InvariantViolation|fatal/);

      // The next epoch: it resets like any follower and catches up from nothing.
      await peer.newEpoch();
      await peer.campaignUntilLeader(20_000);
      await peer.waitForAllCaughtUp(20_000);
      await restarted.waitFor(/new test epoch/);
      assert.deepEqual((await proposeMany(peer, 100, 8, "c")).failed, []);
      await peer.waitForAllCaughtUp(10_000);
      assert.equal(restarted.child.exitCode, null, restarted.stderr());
    } finally {
      await peer.stop();
      await Promise.all(
        [...followers, ...(restarted ? [restarted] : [])].map((f) => stopProcess(f)),
      );
    }
  });

  test("a durable follower killed mid-run catches up, and the leader says so", async () => {
    const dir = join(root, "file");
    const peers = await loopbackPeers(3);
    const args = ["--wal", "file", "--engine", "mem"];
    const followers = [follower(peers, 2, dir, args), follower(peers, 3, dir, args)];
    let restarted: RunningProcess | undefined;
    let leader: RunningProcess | undefined;
    try {
      await Promise.all(followers.map((f) => f.waitFor(/serving on/)));
      leader = startLeader(peers, dir, [
        ...TICK,
        ...args,
        "--bench",
        "conc=16/bytes=256",
        "--benchtime",
        "12s",
      ]);
      // The leader says when its warm-up is over; then the measured run's epoch begins.
      await leader.waitFor(/warmed up/);
      await sleep(2_000);
      const victim = followers[1]!;
      victim.child.kill("SIGKILL");
      await victim.exited;
      await sleep(300);
      restarted = follower(peers, 3, dir, args);
      await restarted.waitFor(/restarted at index [1-9]/);
      await leader
        .waitFor(/leader 1: peer 3 caught up in \d+ ms/, 20_000)
        .catch((err: Error) =>
          assert.fail(`${err.message}\nrestarted follower:\n${restarted?.stderr()}`),
        );
      const code = await leader.exited;
      assert.equal(code, 0, leader.stderr());
      assert.match(leader.stderr(), /leader 1: peer 3 fell behind/);
      assert.doesNotMatch(leader.stdout(), /dropped/);
    } finally {
      if (leader !== undefined) await stopProcess(leader);
      await Promise.all(
        [...followers, ...(restarted ? [restarted] : [])].map((f) => stopProcess(f)),
      );
    }
  });
});
