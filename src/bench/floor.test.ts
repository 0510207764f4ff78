import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { decodeFromCompressedBase64 } from "hdr-histogram-js";
import { ComponentProbes, type ProbeSnapshot } from "../metrics/probes.js";
import { pipelineKinds } from "../pipeline/registry.js";
import { computeFloor, ORDERINGS } from "./floor.js";

const MS = 1_000_000;

/** Probes whose every sample is the same value, so each p50 is known exactly (to HDR's 0.1 %). */
function probes(opts: {
  syncNs: number;
  applyNs: number;
  rttNs?: Record<number, number>;
}): ProbeSnapshot {
  const p = new ComponentProbes();
  for (let i = 0; i < 10; i++) {
    p.durableAppendNs.recordValue(opts.syncNs);
    p.applyNs.recordValue(opts.applyNs);
  }
  for (const [id, rtt] of Object.entries(opts.rttNs ?? {})) {
    p.appendSent(Number(id), 5, 0);
    p.appendAcked(Number(id), 5, rtt / MS);
  }
  return p.snapshot();
}

const near = (actual: number | null, expected: number) => {
  assert.ok(actual !== null, "a floor");
  assert.ok(Math.abs(actual - expected) <= expected * 0.002, `${actual} vs ${expected}`);
};

describe("the speed-of-light floor", () => {
  test("every registered pipeline has an ordering", () => {
    assert.deepEqual([...pipelineKinds].sort(), Object.keys(ORDERINGS).sort());
  });

  // Leader sync 2 ms, one-way 1 ms, follower sync 2 ms, apply 0.1 ms.
  const readings = {
    leader: probes({ syncNs: 2 * MS, applyNs: 0.1 * MS }),
    followers: {
      "2": probes({ syncNs: 2 * MS, applyNs: 0.1 * MS }),
      "3": probes({ syncNs: 3 * MS, applyNs: 0.1 * MS }),
    },
    transportOneWayP50Ns: 1 * MS,
  };

  test("basic waits for the leader's sync, the round trip and a follower's sync in turn", () => {
    const f = computeFloor("basic", 3, readings);
    near(f.floorNs, (2 + 2 + 2 + 0.1) * MS);
    assert.ok(f.floorNs !== null && f.formula === "Ls+R+Fs+A");
  });

  test("parallel-append overlaps the leader's sync with replication; early ack skips the apply", () => {
    near(computeFloor("parallel-append", 3, readings).floorNs, (4 + 0.1) * MS);
    near(computeFloor("parallel-append-early-ack", 3, readings).floorNs, 4 * MS);
    near(computeFloor("async-storage", 3, readings).floorNs, (4 + 0.1) * MS);
    near(computeFloor("async-apply-early-ack-lazy-follower", 3, readings).floorNs, 4 * MS);
  });

  test("a slow leader disk dominates an overlapped ordering", () => {
    const slow = { ...readings, leader: probes({ syncNs: 9 * MS, applyNs: 0.1 * MS }) };
    near(computeFloor("parallel-append", 3, slow).floorNs, (9 + 0.1) * MS);
  });

  test("a quorum of five waits for the second fastest follower", () => {
    const five = {
      ...readings,
      followers: {
        "2": probes({ syncNs: 1 * MS, applyNs: 0 }),
        "3": probes({ syncNs: 5 * MS, applyNs: 0 }),
        "4": probes({ syncNs: 3 * MS, applyNs: 0 }),
        "5": probes({ syncNs: 7 * MS, applyNs: 0 }),
      },
    };
    // Paths 2+1, 2+5, 2+3, 2+7: the second smallest is 5 ms.
    near(computeFloor("parallel-append-early-ack", 5, five).floorNs, 5 * MS);
  });

  test("without the followers' probes the leader's sync stands in, and the JSON says so", () => {
    const f = computeFloor("basic", 3, {
      ...readings,
      followers: {},
      transportOneWayP50Ns: undefined,
    });
    // No transport figure and no round trips: nothing to build the link latency from.
    assert.equal(f.floorNs, null);
    const withRtt = {
      leader: probes({ syncNs: 2 * MS, applyNs: 0, rttNs: { 2: 4 * MS, 3: 6 * MS } }),
      followers: {},
    };
    const g = computeFloor("basic", 3, withRtt);
    assert.ok(g.floorNs !== null);
    near(g.floorNs, 6 * MS);
    assert.equal(g.components.followerSyncSource, "leader");
    assert.equal(g.components.oneWaySource, "replication");
    near(g.components.oneWayNs["2"]!, 1 * MS);
  });

  test("a follower's path is the smaller of the pings' estimate and the observed round trip", () => {
    const withBoth = {
      leader: probes({ syncNs: 2 * MS, applyNs: 0, rttNs: { 2: 3 * MS, 3: 9 * MS } }),
      followers: {
        "2": probes({ syncNs: 2 * MS, applyNs: 0 }),
        "3": probes({ syncNs: 2 * MS, applyNs: 0 }),
      },
      transportOneWayP50Ns: 1 * MS,
    };
    const f = computeFloor("basic", 3, withBoth);
    assert.ok(f.floorNs !== null);
    // Follower 2: pings say 2*1+2 = 4 ms, its replications took 3 ms: 3 ms. Follower 3: 4 ms.
    near(f.floorNs, (2 + 3) * MS);
    assert.equal(f.components.oneWaySource, "replication");
    assert.deepEqual(f.components.pathSource, { "2": "replication", "3": "transport" });
    near(f.components.oneWayNs["2"]!, 0.5 * MS);
  });

  test("no pipeline formula or no durable append measured: no floor, with a reason", () => {
    const none = computeFloor("made-up", 3, readings);
    assert.equal(none.floorNs, null);
    assert.ok(none.floorNs === null && /made-up/.test(none.reason));
    const empty = new ComponentProbes().snapshot();
    assert.equal(computeFloor("basic", 3, { leader: empty, followers: {} }).floorNs, null);
  });
});

describe("component probes", () => {
  test("a round trip is timed from the newest send an acknowledgement covers", () => {
    const p = new ComponentProbes();
    p.appendSent(2, 10, 0);
    p.appendSent(2, 20, 1);
    p.appendSent(2, 30, 2);
    p.appendAcked(2, 5, 3); // covers nothing
    p.appendAcked(2, 20, 4); // covers 10 and 20: 4 - 1 = 3 ms
    p.appendAcked(2, 20, 9); // already answered: nothing
    p.appendAcked(2, 30, 7); // 7 - 2 = 5 ms
    const rtt = p.snapshot().replicationRttNs["2"]!;
    assert.equal(rtt.count, 2);
    near(rtt.min, 3 * MS);
    near(rtt.max, 5 * MS);
  });

  test("snapshots carry HDR's own encoding, which decodes to the same counts; reset empties", () => {
    const p = new ComponentProbes();
    for (const v of [100, 200, 300]) p.durableAppendNs.recordValue(v);
    const snap = p.snapshot();
    const decoded = decodeFromCompressedBase64(snap.durableAppendNs.hdr);
    assert.equal(decoded.totalCount, 3);
    assert.equal(decoded.maxValue, snap.durableAppendNs.max);
    p.reset();
    assert.equal(p.snapshot().durableAppendNs.count, 0);
  });
});
