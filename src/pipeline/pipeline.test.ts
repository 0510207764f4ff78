import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { InvariantViolation } from "../errors/errors.js";
import { LOCAL_APPEND_THREAD } from "../raft/api.js";
import { type Entry, EntryType, MessageType, makeMessage } from "../raft/types.js";
import { applyInOrder } from "./apply.js";
import { mergeEntries } from "./async-storage.js";
import type { PipelineHost } from "./pipeline.js";
import { pipelineKinds, pipelineSpec } from "./registry.js";

function entry(index: number, term: number, type: EntryType = EntryType.Normal): Entry {
  return { index, term, type, data: new Uint8Array([index]) };
}

/** A host that records, in order, what the pipeline asks of it. */
function recordingHost(
  log: string[],
  opts: { leader?: () => boolean; clock?: () => number; appendLatencies?: number[] } = {},
): PipelineHost {
  const none = { record() {} };
  const latencies = opts.appendLatencies;
  let applied = 0;
  return {
    id: 1,
    node: {
      advance: () => log.push("advance"),
      applyConfChange: () => ({ voters: [], learners: [] }),
    },
    storage: {
      persist: async () => {
        log.push("persist");
      },
      applyEntries: async (es) => {
        log.push(`apply ${es.map((e) => e.index).join(",")}`);
        if (es.length > 0) applied = es[es.length - 1]!.index;
      },
    },
    appliedIndex: () => applied,
    readLog: (lo, hi) => {
      log.push(`read ${lo}-${hi}`);
      return Array.from({ length: hi - lo }, (_, k) => entry(lo + k, 1));
    },
    metrics: {
      appendBatchSize: none,
      appendLatencyNs: latencies === undefined ? none : { record: (v) => latencies.push(v) },
      applyBatchSize: none,
      applyLatencyNs: none,
    },
    clock: { now: opts.clock ?? (() => 0) },
    send: (ms) => log.push(`send ${ms.length}`),
    stepLocal: () => log.push("stepLocal"),
    isLeader: opts.leader ?? (() => true),
    ack: (es) => log.push(`ack ${es.length}`),
    applyConfChange: async (e) => {
      log.push(`confchange ${e.index}`);
    },
    fail: (err) => {
      throw err;
    },
  };
}

describe("pipelines", () => {
  test("the registry lists seven variants and names them all for an unknown one", () => {
    assert.equal(pipelineKinds.length, 7);
    assert.ok(pipelineKinds.includes("async-storage"));
    assert.throws(
      () => pipelineSpec("fast"),
      (err: Error) => {
        for (const name of pipelineKinds) assert.ok(err.message.includes(name), err.message);
        return /unknown pipeline "fast"/.test(err.message);
      },
    );
    assert.equal(pipelineSpec("async-storage").asyncStorageWrites, true);
    assert.equal(pipelineSpec("basic").asyncStorageWrites, false);
  });

  test("a conf change takes effect right after the entries before it, in log order", async () => {
    const log: string[] = [];
    const batch = [entry(1, 1), entry(2, 1, EntryType.ConfChange), entry(3, 1), entry(4, 1)];
    await applyInOrder(recordingHost(log), batch);
    // The configuration is stored before the applied index passes its entry: a crash in
    // between must replay the change on restart, never skip it.
    assert.deepEqual(log, ["apply 1", "confchange 2", "apply 2", "apply 3,4"]);
  });

  test("merging appends replaces the suffix a later append overwrites", () => {
    const into = [entry(5, 1), entry(6, 1), entry(7, 1)];
    mergeEntries(into, [entry(6, 2), entry(7, 2), entry(8, 2)]);
    assert.deepEqual(
      into.map((e) => `${e.index}@${e.term}`),
      ["5@1", "6@2", "7@2", "8@2"],
    );
    mergeEntries(into, [entry(9, 2)]);
    assert.equal(into.length, 5);
    mergeEntries(into, [entry(5, 3)]);
    assert.deepEqual(
      into.map((e) => `${e.index}@${e.term}`),
      ["5@3"],
    );
  });

  test("merging an append that would skip an index breaks the pipeline's invariant", () => {
    const into = [entry(5, 1), entry(6, 1)];
    assert.throws(
      () => mergeEntries(into, [entry(8, 1)]),
      (e: unknown) =>
        e instanceof InvariantViolation &&
        e.component === "pipeline" &&
        e.invariant === "appends-contiguous",
    );
  });

  test("basic persists, sends, applies, acknowledges, then advances", async () => {
    const log: string[] = [];
    const host = recordingHost(log);
    const pl = pipelineSpec("basic").create(host);
    const msg = makeMessage({ type: MessageType.MsgAppResp, to: 2, from: 1 });
    await pl.handleReady({
      readStates: [],
      entries: [entry(3, 1)],
      committedEntries: [entry(2, 1)],
      messages: [msg],
      mustSync: true,
    });
    assert.deepEqual(log, ["persist", "send 1", "apply 2", "ack 1", "advance"]);
  });

  test("every pipeline times its append on the host's clock, not the system's", async () => {
    for (const name of pipelineKinds) {
      // A virtual clock that moves 3 ms per read: the append's latency is one step of it.
      let now = 1000;
      const latencies: number[] = [];
      const host = recordingHost([], { clock: () => (now += 3), appendLatencies: latencies });
      const pl = pipelineSpec(name).create(host);
      const append = pipelineSpec(name).asyncStorageWrites
        ? {
            messages: [
              makeMessage({
                type: MessageType.MsgStorageAppend,
                to: LOCAL_APPEND_THREAD,
                from: 1,
                entries: [entry(3, 1)],
              }),
            ],
            entries: [],
          }
        : { messages: [], entries: [entry(3, 1)] };
      await pl.handleReady({ readStates: [], committedEntries: [], mustSync: true, ...append });
      await pl.drain();
      assert.deepEqual(latencies, [3e6], name);
    }
  });

  test("parallel-append sends MsgApps before the local append and the rest after it", async () => {
    const log: string[] = [];
    const pl = pipelineSpec("parallel-append-early-ack").create(recordingHost(log));
    const app = makeMessage({ type: MessageType.MsgApp, to: 2, from: 1 });
    const vote = makeMessage({ type: MessageType.MsgVoteResp, to: 3, from: 1 });
    await pl.handleReady({
      readStates: [],
      entries: [entry(3, 1)],
      committedEntries: [entry(2, 1)],
      messages: [app, vote],
      mustSync: true,
    });
    // Entry 2 is in the local log already (below the first new entry): applied during the sync.
    assert.deepEqual(log, ["send 1", "ack 1", "persist", "apply 2", "send 1", "advance"]);
  });

  test("parallel-append applies what the log holds durably while the append syncs, the rest after", async () => {
    for (const name of ["parallel-append", "parallel-append-early-ack"]) {
      const log: string[] = [];
      const base = recordingHost(log);
      let synced!: () => void;
      const host: PipelineHost = {
        ...base,
        storage: {
          ...base.storage,
          persist: () => {
            log.push("persist");
            return new Promise<void>((resolve) => {
              synced = resolve;
            });
          },
        },
      };
      const pl = pipelineSpec(name).create(host);
      const resp = makeMessage({ type: MessageType.MsgAppResp, to: 1, from: 2 });
      // A follower's Ready: entries 4-5 appended now, the commit index covering 2-4.
      const handled = pl.handleReady({
        readStates: [],
        entries: [entry(4, 1), entry(5, 1)],
        committedEntries: [entry(2, 1), entry(3, 1), entry(4, 1)],
        messages: [resp],
        mustSync: true,
      });
      for (let i = 0; i < 10; i++) await undefined;
      const during = log.filter((l) => !l.startsWith("ack"));
      assert.deepEqual(during, ["persist", "apply 2,3"], name);
      synced();
      await handled;
      assert.deepEqual(
        log.filter((l) => !l.startsWith("ack")),
        ["persist", "apply 2,3", "send 1", "apply 4", "advance"],
        name,
      );
      // Without early-ack each group is acknowledged once applied.
      if (name === "parallel-append") {
        assert.deepEqual(
          log.filter((l) => l.startsWith("ack")),
          ["ack 2", "ack 1"],
        );
      }
    }
  });

  test("parallel-append applies nothing before a snapshot it installs is persisted", async () => {
    const log: string[] = [];
    const pl = pipelineSpec("parallel-append").create(recordingHost(log));
    await pl.handleReady({
      readStates: [],
      entries: [],
      committedEntries: [entry(11, 2)],
      messages: [],
      snapshot: {
        data: new Uint8Array(0),
        metadata: { index: 10, term: 2, confState: { voters: [1], learners: [] } },
      },
      mustSync: true,
    });
    assert.deepEqual(log, ["persist", "apply 11", "ack 1", "advance"]);
  });

  test("a lazy follower that comes to lead first applies what it skipped, in order", async () => {
    const log: string[] = [];
    let leader = false;
    const pl = pipelineSpec("async-apply-early-ack-lazy-follower").create(
      recordingHost(log, { leader: () => leader }),
    );
    const ready = (committed: Entry[]) => ({
      readStates: [],
      entries: [],
      committedEntries: committed,
      messages: [],
      mustSync: false,
    });
    // Bootstrap: a conf change is applied by every node.
    await pl.handleReady(ready([entry(1, 1, EntryType.ConfChange)]));
    await pl.handleReady(ready([entry(2, 1), entry(3, 1)]));
    await pl.handleReady(ready([entry(4, 1)]));
    assert.deepEqual(
      log.filter((l) => l.startsWith("apply") || l.startsWith("read")),
      ["apply 1"],
    );
    leader = true;
    await pl.handleReady(ready([entry(5, 2), entry(6, 2)]));
    await pl.drain();
    await pl.handleReady(ready([entry(7, 2)]));
    await pl.drain();
    assert.deepEqual(
      log.filter((l) => l.startsWith("apply") || l.startsWith("read")),
      ["apply 1", "read 2-5", "apply 2,3,4", "apply 5,6", "apply 7"],
    );
  });
});
