// Log compaction during runs, on an in-process cluster (mem WAL + mem engine): the log of
// every node stays bounded in a long run, and a follower cut off while the leader compacts
// past it is caught up with a snapshot and ends with the same state as the others.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeProposal } from "../proposal/proposal.js";
import type { Status } from "../raft/api.js";
import { type Entry, EntryType } from "../raft/types.js";
import {
  type InProcessCluster,
  kvMap,
  proposeMany,
  startInProcessCluster,
} from "../testing/in-process-cluster.js";
import { Compactor, parseCompactEvery } from "./compaction.js";
import type { PeerStorage } from "./contracts.js";
import { DURABLE_LAG_INTERVALS } from "./limits.js";

async function until(cond: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("--compact-every parsing", () => {
  test("entries, bytes with a unit, off; anything else is refused", () => {
    assert.deepEqual(parseCompactEvery("50000"), { unit: "entries", n: 50000 });
    assert.deepEqual(parseCompactEvery("50k"), { unit: "entries", n: 50000 });
    assert.deepEqual(parseCompactEvery("64MiB"), { unit: "bytes", n: 64 << 20 });
    assert.deepEqual(parseCompactEvery("512kib"), { unit: "bytes", n: 512 << 10 });
    assert.deepEqual(parseCompactEvery("off"), { unit: "off" });
    for (const bad of ["", "-5", "1.5", "64 parsecs", "k"]) {
      assert.throws(() => parseCompactEvery(bad), RangeError, bad);
    }
  });
});

describe("log compaction", () => {
  // "500,1MiB": both bounds, the entry bound first at these ~20-byte entries.
  for (const every of ["500", "64KiB", "500,1MiB"]) {
    test(`every node's log stays bounded in a long run (every ${every})`, async () => {
      const compactEvery = parseCompactEvery(every);
      const c = await startInProcessCluster("parallel-append", { compactEvery });
      try {
        // Sampled while proposals flow: never more than 2N + what is not applied yet.
        let maxLen = 0;
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            for (const s of c.storages) {
              maxLen = Math.max(maxLen, s.wal.lastIndex() - s.wal.firstIndex() + 1);
            }
            await new Promise((r) => setTimeout(r, 2));
          }
        })();
        const r = await proposeMany(c.leader, 20_000, 64, "run");
        sampling = false;
        await sampler;
        assert.deepEqual(r.failed, []);
        // Entries are ~20 bytes: 64 KiB is ~3,000 of them; 64 in flight, batches of 64.
        const bound = compactEvery.unit === "bytes" ? 2 * 3_500 + 2_000 : 2 * 500 + 2_000;
        assert.ok(maxLen <= bound, `longest log ${maxLen} entries, bound ${bound}`);
        for (const [k, s] of c.storages.entries()) {
          assert.ok(
            s.wal.firstIndex() > 10_000,
            `node ${k + 1} compacted: log starts at ${s.wal.firstIndex()}`,
          );
        }
        assert.ok(c.leader.stats().compaction.steps > 0);
      } finally {
        await c.stop();
      }
    });
  }

  test("a follower cut off while the leader compacts past it catches up by snapshot", async () => {
    const c = await startInProcessCluster("parallel-append", {
      compactEvery: { unit: "entries", n: 300 },
    });
    try {
      await proposeMany(c.leader, 2_000, 16, "before");
      c.network.isolate(3);
      const during = await proposeMany(c.leader, 5_000, 16, "during");
      assert.deepEqual(during.failed, []);
      const behind = c.storages[2]!.wal.lastIndex();
      await until(
        () => c.storages[0]!.wal.firstIndex() > behind + 1,
        "the leader compacting past the cut-off follower",
      );
      c.network.rejoin(3);
      const after = await proposeMany(c.leader, 500, 16, "after");
      assert.deepEqual(after.failed, []);
      const leaderLast = () => c.storages[0]!.wal.lastIndex();
      await until(
        () => c.storages[2]!.engine.appliedIndex() >= leaderLast() - 1,
        "the follower applying up to the leader's log",
      );
      // It skipped the log it missed: its log restarted at a snapshot past that point.
      assert.ok(
        c.storages[2]!.wal.firstIndex() > behind + 1,
        `follower log starts at ${c.storages[2]!.wal.firstIndex()}, was behind at ${behind}`,
      );
      await until(
        () => c.storages[2]!.engine.appliedIndex() === c.storages[0]!.engine.appliedIndex(),
        "equal applied indexes",
      );
      assert.deepEqual(await kvMap(c.storages[2]!), await kvMap(c.storages[0]!));
    } finally {
      await c.stop();
    }
  });
});

describe("large entries under both bounds: snapshot only past the kept window", () => {
  /** Proposes `count` puts of `size`-byte values, 8 at a time; returns how many failed. */
  async function proposeLarge(
    c: InProcessCluster,
    count: number,
    size: number,
    tag: string,
  ): Promise<number> {
    let next = 0;
    let failed = 0;
    const worker = async (w: number) => {
      while (next < count) {
        const n = next++;
        const value = new Uint8Array(size).fill(n & 0xff);
        const key = new TextEncoder().encode(`${tag}-${w}`);
        try {
          await c.leader.propose(encodeProposal({ id: n, key, value }));
        } catch {
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    return failed;
  }

  test("a follower lagging by less than the byte window catches up from the log", async () => {
    // 4 KiB entries, "50k,256KiB": the byte bound keeps ~64 entries, long before 50k.
    const c = await startInProcessCluster("parallel-append", {
      compactEvery: parseCompactEvery("50k,256KiB"),
    });
    try {
      assert.equal(await proposeLarge(c, 400, 4096, "before"), 0);
      await until(() => c.storages[0]!.wal.firstIndex() > 1, "the leader compacting by bytes");
      c.network.isolate(3);
      const behind = c.storages[2]!.wal.lastIndex();
      // 20 entries (80 KiB) behind: inside the 256 KiB the leader keeps.
      assert.equal(await proposeLarge(c, 20, 4096, "short"), 0);
      c.network.rejoin(3);
      await until(
        () => c.storages[2]!.engine.appliedIndex() === c.storages[0]!.engine.appliedIndex(),
        "the follower catching up",
      );
      assert.ok(
        c.storages[2]!.wal.firstIndex() <= behind,
        `caught up from the log: its log starts at ${c.storages[2]!.wal.firstIndex()}, ${behind} was its last`,
      );
      // Cut off again for 400 entries (1.6 MiB): past the window, so a snapshot.
      c.network.isolate(3);
      const behind2 = c.storages[2]!.wal.lastIndex();
      assert.equal(await proposeLarge(c, 400, 4096, "long"), 0);
      await until(
        () => c.storages[0]!.wal.firstIndex() > behind2 + 1,
        "the leader compacting past the cut-off follower",
      );
      c.network.rejoin(3);
      await until(
        () => c.storages[2]!.engine.appliedIndex() === c.storages[0]!.engine.appliedIndex(),
        "the follower catching up by snapshot",
      );
      assert.ok(
        c.storages[2]!.wal.firstIndex() > behind2 + 1,
        `follower log starts at ${c.storages[2]!.wal.firstIndex()}, was behind at ${behind2}`,
      );
      assert.deepEqual(await kvMap(c.storages[2]!), await kvMap(c.storages[0]!));
    } finally {
      await c.stop();
    }
  });
});

/**
 * A log whose engine answers flushApplied only when the test calls one of `answers`; what
 * the compactor asked and compacted is recorded, and `applied`/`durable` move as the test
 * says.
 */
class FakeLog {
  first = 1;
  durable = 0;
  readonly asked: { upTo: number; start: boolean }[] = [];
  readonly answers: (() => void)[] = [];
  readonly compacted: number[] = [];
  readonly storage: PeerStorage;

  constructor(public applied: number) {
    this.storage = {
      firstIndex: () => this.first,
      lastIndex: () => this.applied,
      appliedIndex: () => this.applied,
      durableAppliedIndex: () => this.durable,
      flushApplied: (upTo?: number, opts?: { start?: boolean }): Promise<void> => {
        this.asked.push({ upTo: upTo ?? Number.NaN, start: opts?.start === true });
        return new Promise((resolve) => this.answers.push(resolve));
      },
      compact: async (upTo: number): Promise<void> => {
        this.compacted.push(upTo);
        this.first = upTo + 1;
      },
    } as unknown as PeerStorage;
  }
}

const followerStatus = () =>
  ({ role: "follower", id: 2, progress: new Map() }) as unknown as Status;

describe("the compaction point and the engine's durable applied index", () => {
  test("the log is compacted only through the point the engine reported durable, once it did", async () => {
    const log = new FakeLog(200_000);
    const c = new Compactor(log.storage, { unit: "entries", n: 50_000 });
    await c.afterTurn(followerStatus);
    const askedPoints = () => log.asked.map((a) => a.upTo);
    assert.deepEqual(askedPoints(), [150_000], "asks for the policy's point, not for all applied");
    log.applied = 260_000;
    await c.afterTurn(followerStatus);
    await c.afterTurn(followerStatus);
    assert.deepEqual(log.compacted, [], "nothing dropped before the engine answers");
    assert.deepEqual(askedPoints(), [150_000], "one question at a time");
    log.answers[0]!();
    await new Promise((resolve) => setImmediate(resolve));
    for (let turn = 0; turn < 100 && log.first <= 150_000; turn++) {
      await c.afterTurn(followerStatus);
      await c.idle();
    }
    assert.equal(log.first, 150_001, "compacted through the durable point");
    assert.ok(Math.max(...log.compacted) <= 150_000, "never past it, though more was applied");
  });

  test("a log grown DURABLE_LAG_INTERVALS intervals long asks the engine to write back now, and compaction then goes as far as the durable point allows", async () => {
    const n = 50_000;
    const log = new FakeLog(2 * n);
    const c = new Compactor(log.storage, { unit: "entries", n });
    await c.afterTurn(followerStatus);
    assert.deepEqual(log.asked, [{ upTo: n, start: false }], "waits for the engine's own schedule");
    log.applied = DURABLE_LAG_INTERVALS * n - 1;
    await c.afterTurn(followerStatus);
    assert.equal(log.asked.length, 1, "not yet long enough to hasten anything");
    log.applied = DURABLE_LAG_INTERVALS * n;
    await c.afterTurn(followerStatus);
    await c.afterTurn(followerStatus);
    assert.deepEqual(log.asked[1], { upTo: n, start: true }, "asked to start, once");
    assert.equal(log.asked.length, 2);
    // The write-back started then reached everything applied at the time.
    log.durable = log.applied;
    log.applied += 1_000;
    for (const answer of log.answers) answer();
    await new Promise((resolve) => setImmediate(resolve));
    for (let turn = 0; turn < 200 && log.first <= log.applied - n; turn++) {
      await c.afterTurn(followerStatus);
      await c.idle();
    }
    assert.equal(
      log.first,
      log.applied - n + 1,
      "compacted to N behind applied, within the durable point",
    );
    assert.ok(Math.max(...log.compacted) <= log.durable);
  });
});

describe("both bounds (the default policy): whichever is reached first", () => {
  /** A log of `count` applied entries of `size` bytes, appended in batches of 16. */
  async function askedPoint(count: number, size: number): Promise<number[]> {
    const asked: number[] = [];
    const storage = {
      firstIndex: () => 1,
      lastIndex: () => count,
      appliedIndex: () => count,
      flushApplied(upTo?: number): Promise<void> {
        asked.push(upTo ?? Number.NaN);
        return new Promise(() => {});
      },
      compact: async () => {},
    } as unknown as PeerStorage;
    const c = new Compactor(storage, parseCompactEvery("1000,1MiB"));
    for (let first = 1; first <= count; first += 16) {
      const batch: Entry[] = [];
      for (let i = first; i < first + 16 && i <= count; i++) {
        batch.push({ term: 1, index: i, type: EntryType.Normal, data: new Uint8Array(size) });
      }
      c.noteAppended(batch);
    }
    const status = () => ({ role: "follower", id: 2, progress: new Map() }) as unknown as Status;
    await c.afterTurn(status);
    return asked;
  }

  test("large entries: compacted by bytes, keeping 1 MiB, long before 2,000 entries", async () => {
    // 160 entries of 16 KiB = 2.5 MiB applied: the last 64 (1 MiB) stay.
    assert.deepEqual(await askedPoint(160, 16 << 10), [96]);
    // Below 2 MiB applied nothing is due.
    assert.deepEqual(await askedPoint(120, 16 << 10), []);
  });

  test("small entries: compacted by entries, keeping 1,000, long before 2 MiB", async () => {
    assert.deepEqual(await askedPoint(2_400, 16), [1_400]);
    assert.deepEqual(await askedPoint(1_900, 16), []);
  });

  test("parsing: both bounds in either order; two of a kind are refused", () => {
    const both = { unit: "either", entries: 50_000, bytes: 64 << 20 };
    assert.deepEqual(parseCompactEvery("50k,64MiB"), both);
    assert.deepEqual(parseCompactEvery("64MiB, 50k"), both);
    for (const bad of ["50k,60k", "1MiB,2MiB", "50k,", ",64MiB", "50k,64MiB,1"]) {
      assert.throws(() => parseCompactEvery(bad), RangeError, bad);
    }
  });
});
