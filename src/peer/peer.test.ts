// The Peer on its own, three of them over the in-process transport on memory storage: what
// its scheduling promises, asserted on counted messages and its own counters, never on time.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeProposal } from "../proposal/proposal.js";
import { decodeConfChange } from "../raft/confchange.js";
import { RawNode } from "../raft/rawnode.js";
import { type Message, MessageType } from "../raft/types.js";
import { MemEngine } from "../storage/engine/mem-engine.js";
import { type Storage, split } from "../storage/storage.js";
import { MemWal } from "../storage/wal/mem-wal.js";
import { LocalNetwork } from "../transport/local-transport.js";
import type { Epoch, Transport } from "../transport/transport.js";
import type { Scheduler, TimerHandle } from "./clock.js";
import type { RaftBinding } from "./contracts.js";
import { Peer, type PeerOptions } from "./peer.js";
import type { ProposalError } from "./proposal-tracker.js";

const raft: RaftBinding = { createNode: (config) => new RawNode(config), decodeConfChange };

/** Timers that fire only when the test advances the clock; "soon" is the real setImmediate. */
class ManualScheduler implements Scheduler {
  private t = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  get pending(): number {
    return this.timers.size;
  }
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id as unknown as TimerHandle;
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers.delete(handle as unknown as number);
  }
  soon(fn: () => void): void {
    setImmediate(fn);
  }
  /** Moves the clock on by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const until = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers)
        if (e[1].at <= until && (next === undefined || e[1].at < next[1].at)) next = e;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = until;
  }
}

/** A one-member group on memory storage, timed by `scheduler`. */
function singleMember(pipeline: string, scheduler: Scheduler): Peer {
  return new Peer({
    id: 1,
    peerIds: [1],
    transport: new LocalNetwork().transport(1),
    storage: split(new MemWal(), new MemEngine()),
    raft,
    pipeline,
    tickMs: 100,
    electionTicks: 10,
    seed: 3,
    epochOwner: { start: 1 },
    scheduler,
    onFatal: (err) => {
      throw err;
    },
  });
}

/** Lets the peer loop run for `n` turns of the event loop. */
async function realTurns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** What the leader's transport was asked to send, by epoch. */
interface SendLog {
  sends: { epoch: Epoch; messages: readonly Message[] }[];
}

function recording(t: Transport, log: SendLog): Transport {
  return {
    start: (onBatch) => t.start(onBatch),
    send: (epoch, messages) => {
      log.sends.push({ epoch, messages });
      t.send(epoch, messages);
    },
    onUnreachable: (h) => t.onUnreachable(h),
    stats: () => t.stats(),
    stop: () => t.stop(),
  };
}

/**
 * The leader's MsgApps with entries that no answer from their follower has covered yet, by
 * follower: a send adds its last index, an accepting MsgAppResp removes what it covers.
 */
class WindowWatch {
  private readonly open = new Map<number, number[]>();
  /** The most MsgApps with entries ever open to one follower at once. */
  maxOpen = 0;
  watching = false;

  wrap(t: Transport): Transport {
    return {
      start: (onBatch) =>
        t.start((b) => {
          for (const m of b.messages) {
            if (m.type !== MessageType.MsgAppResp || m.reject) continue;
            const open = this.open.get(m.from);
            if (open !== undefined)
              this.open.set(
                m.from,
                open.filter((last) => last > m.index),
              );
          }
          onBatch(b);
        }),
      send: (epoch, messages) => {
        for (const m of messages) {
          if (!this.watching || m.type !== MessageType.MsgApp || m.entries.length === 0) continue;
          const open = this.open.get(m.to) ?? [];
          open.push(m.entries[m.entries.length - 1]!.index);
          this.open.set(m.to, open);
          this.maxOpen = Math.max(this.maxOpen, open.length);
        }
        t.send(epoch, messages);
      },
      onUnreachable: (h) => t.onUnreachable(h),
      stats: () => t.stats(),
      stop: () => t.stop(),
    };
  }
}

function commitOnlyAppends(log: SendLog): number {
  let n = 0;
  for (const s of log.sends) {
    for (const m of s.messages) if (m.type === MessageType.MsgApp && m.entries.length === 0) n++;
  }
  return n;
}

interface Cluster {
  peers: Peer[];
  storages: Storage[];
  leader: Peer;
  leaderSends: SendLog;
  stop(): Promise<void>;
}

async function startCluster(
  extra: Partial<PeerOptions> = {},
  setup: { watch?: WindowWatch; syncDelayMs?: readonly number[] } = {},
): Promise<Cluster> {
  const ids = [1, 2, 3];
  const network = new LocalNetwork();
  const leaderSends: SendLog = { sends: [] };
  const { watch, syncDelayMs } = setup;
  const storages = ids.map((id) =>
    split(new MemWal({ syncDelayMs: syncDelayMs?.[id - 1] ?? 0 }), new MemEngine()),
  );
  const peers = ids.map((id) => {
    const t = network.transport(id);
    return new Peer({
      id,
      peerIds: ids,
      transport: id !== 1 ? t : recording(watch === undefined ? t : watch.wrap(t), leaderSends),
      storage: storages[id - 1]!,
      raft,
      pipeline: "basic",
      tickMs: 25,
      electionTicks: 10,
      seed: 7,
      ...(id === 1 ? { epochOwner: { start: 1_000 } } : {}),
      onFatal: (err) => {
        throw err;
      },
      ...extra,
    });
  });
  await Promise.all(peers.map((p) => p.start()));
  const leader = peers[0]!;
  await leader.campaignUntilLeader(20_000);
  await leader.waitForAllCaughtUp(20_000);
  return {
    peers,
    storages,
    leader,
    leaderSends,
    stop: async () => {
      await Promise.all(peers.map((p) => p.stop()));
    },
  };
}

const encoder = new TextEncoder();

/** `conc` closed-loop workers propose `count` proposals in all; returns the failures. */
async function proposeMany(peer: Peer, count: number, conc: number): Promise<Error[]> {
  const failed: Error[] = [];
  let next = 0;
  const key = encoder.encode("k");
  const worker = async () => {
    while (next < count) {
      const n = next++;
      try {
        await peer.propose(encodeProposal({ id: n, key, value: encoder.encode(`v${n}`) }));
      } catch (err) {
        failed.push(err as Error);
      }
    }
  };
  await Promise.all(Array.from({ length: conc }, worker));
  return failed;
}

describe("Peer", () => {
  test("commit coalescing at least halves the leader's commit-only MsgApps", async (t) => {
    const counts: Record<string, number> = {};
    for (const coalesce of [false, true]) {
      const c = await startCluster({ coalesceCommitAppends: coalesce });
      try {
        const before = commitOnlyAppends(c.leaderSends);
        assert.deepEqual(await proposeMany(c.leader, 3_000, 64), []);
        counts[String(coalesce)] = commitOnlyAppends(c.leaderSends) - before;
      } finally {
        await c.stop();
      }
    }
    const off = counts.false!;
    const on = counts.true!;
    t.diagnostic(`commit-only MsgApps sent by the leader: ${off} without coalescing, ${on} with`);
    // Without coalescing each commit advance goes out on its own to both followers.
    assert.ok(off > 0, `coalescing off sent no commit-only MsgApps at all (${off})`);
    assert.ok(on * 2 <= off, `commit-only MsgApps: ${on} with coalescing, ${off} without`);
  });

  test("maxInflightMsgs bounds the MsgApps with entries open to each follower", async (t) => {
    const maxOpen: Record<number, number> = {};
    for (const window of [256, 1]) {
      const watch = new WindowWatch();
      // Follower 3 syncs slowly: follower 2's answers commit, and the leader has new
      // entries for follower 3 before it answered the last ones.
      const c = await startCluster({ maxInflightMsgs: window }, { watch, syncDelayMs: [0, 1, 8] });
      try {
        watch.watching = true;
        assert.deepEqual(await proposeMany(c.leader, 1_000, 64), []);
        maxOpen[window] = watch.maxOpen;
      } finally {
        await c.stop();
      }
    }
    t.diagnostic(`most MsgApps open to one follower: ${maxOpen[256]} at 256, ${maxOpen[1]} at 1`);
    // The default window lets the leader run ahead of a follower's answers under load.
    assert.ok(maxOpen[256]! > 1, `the default window never had two open (${maxOpen[256]})`);
    assert.equal(maxOpen[1], 1);
  });

  test("service mode: proposals from separate callbacks of one I/O phase go into one batch", async () => {
    const storage = split(new MemWal(), new MemEngine());
    const appended: number[] = [];
    const persist = storage.persist.bind(storage);
    storage.persist = (rd, sync) => {
      if (rd.entries.length > 0) appended.push(rd.entries.length);
      return persist(rd, sync);
    };
    const peer = new Peer({
      id: 1,
      peerIds: [1],
      transport: new LocalNetwork().transport(1),
      storage,
      raft,
      pipeline: "basic",
      tickMs: 5,
      electionTicks: 2,
      seed: 5,
      service: {
        bootstrap: true,
        takeReadRound: () => undefined,
        onReadStates() {},
        onProgress() {},
        onConfChange() {},
      },
      onFatal: (err) => {
        throw err;
      },
    });
    await peer.start();
    try {
      for (let i = 0; i < 2_000 && !peer.isLeader(); i++)
        await new Promise((r) => setTimeout(r, 1));
      assert.equal(peer.isLeader(), true, "a one-member group did not elect itself");
      await realTurns(20);
      const before = appended.length;
      // Like requests of separate clients read in one poll phase: each callback proposes one.
      const handed = await new Promise<Promise<void>[]>((resolve) => {
        const all: Promise<void>[] = [];
        for (let i = 0; i < 8; i++) {
          setImmediate(() => {
            const data = encodeProposal({
              id: i,
              key: encoder.encode(`k${i}`),
              value: encoder.encode("v"),
            });
            all.push(
              new Promise<void>((handedOver, refused) =>
                peer.submitBatch([data], (r, err) =>
                  r.length === 0 ? handedOver() : refused(err),
                ),
              ),
            );
            if (all.length === 8) resolve(all);
          });
        }
      });
      await Promise.all(handed);
      await realTurns(20);
      assert.deepEqual(appended.slice(before), [8]);
    } finally {
      await peer.stop();
    }
  });

  test("ticks come from the injected scheduler only", async () => {
    const sched = new ManualScheduler();
    const peer = singleMember("basic", sched);
    await peer.start();
    try {
      // A one-member group elects itself after an election timeout, which only ticks measure.
      await realTurns(50);
      assert.equal(peer.isLeader(), false, "it campaigned without a tick");
      assert.ok(sched.pending >= 1, "no ticker on the injected scheduler");
      sched.advance(100 * 10 * 3);
      for (let i = 0; i < 200 && !peer.isLeader(); i++) await realTurns(1);
      assert.equal(peer.isLeader(), true, "three election timeouts of ticks did not elect it");
    } finally {
      await peer.stop();
    }
    assert.equal(sched.pending, 0, "the ticker outlived stop()");
  });

  test("one proposal at a time: the loop yields to I/O about once per proposal, not per turn", async () => {
    // Each proposal takes two turns here (append, then apply and ack), and the proposer's next
    // proposal arrives during the second: its turn follows at once, and a turn that leaves no
    // work waits instead of hopping first. The loop used to hop after every turn.
    const sched = new ManualScheduler();
    let hops = 0;
    const counting: Scheduler = {
      now: () => sched.now(),
      setTimeout: (fn, ms) => sched.setTimeout(fn, ms),
      clearTimeout: (h) => sched.clearTimeout(h),
      soon: (fn) => {
        hops++;
        sched.soon(fn);
      },
    };
    const peer = singleMember("parallel-append", counting);
    await peer.start();
    try {
      sched.advance(100 * 10 * 3);
      for (let i = 0; i < 200 && !peer.isLeader(); i++) await realTurns(1);
      assert.equal(peer.isLeader(), true);
      await realTurns(5);
      const data = encodeProposal({ id: 1, key: new Uint8Array([1]), value: new Uint8Array(8) });
      const proposals = 200;
      hops = 0;
      for (let i = 0; i < proposals; i++) await peer.propose(data);
      assert.ok(hops <= proposals * 1.1, `${hops} hops for ${proposals} proposals`);
    } finally {
      await peer.stop();
    }
  });

  test("an epoch reset leaves nothing behind", async () => {
    const c = await startCluster();
    try {
      const { leader, leaderSends } = c;
      assert.deepEqual(await proposeMany(leader, 500, 16), []);
      const oldEpoch = leader.currentEpoch();
      // Proposals in every stage when the reset comes: buffered, appended, committing.
      const inFlight = proposeMany(leader, 2_000, 256);
      await new Promise((r) => setImmediate(r));
      await leader.newEpoch();
      const sentBeforeReset = leaderSends.sends.length;
      const s = leader.stats();
      assert.equal(s.inflightProposals, 0, "tracked proposals left");
      assert.equal(s.bufferedProposals, 0, "buffered proposals left");
      assert.equal(s.heldCommitAppends, 0, "held commit-only MsgApps left");
      assert.equal(s.queuedLocal, 0, "local messages left");
      assert.equal(s.queuedInbound, 0, "inbound messages left");
      // A fresh node: at most the bootstrap's configuration entries, one per member.
      const fresh = c.peers.length;
      const st0 = c.storages[0]!;
      assert.ok(st0.lastIndex() <= fresh, `the log survived the reset: at ${st0.lastIndex()}`);
      assert.ok(st0.appliedIndex() <= fresh, `the engine survived: at ${st0.appliedIndex()}`);
      assert.ok(leader.status().commit <= fresh, "the core survived the reset");
      // The workers' proposals either made it before the reset or failed because of it.
      for (const err of await inFlight) {
        assert.match((err as ProposalError).reason, /epoch reset|not leader|leadership lost/);
      }

      // The new epoch works, and nothing of the old one leaves the leader any more.
      await leader.campaignUntilLeader(20_000);
      await leader.waitForAllCaughtUp(20_000);
      assert.deepEqual(await proposeMany(leader, 300, 16), []);
      const lateOld = leaderSends.sends
        .slice(sentBeforeReset)
        .filter((x) => x.epoch.iteration === oldEpoch.iteration);
      assert.equal(lateOld.length, 0, "messages of the old epoch sent after the reset");
      for (const p of c.peers) assert.deepEqual(p.currentEpoch(), leader.currentEpoch());
      // Followers reset too: their logs hold the new epoch's entries only.
      for (const st of c.storages) assert.ok(st.lastIndex() < 500, `log at ${st.lastIndex()}`);
    } finally {
      await c.stop();
    }
  });
});
