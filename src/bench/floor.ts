// The speed-of-light floor: the conc=1 latency a pipeline's ordering allows, given the
// latencies its components showed during the same run (docs/floor.md derives each formula).
// One proposal at a time: the leader appends durably (Ls) and replicates; a follower's path
// is the round trip plus its own durable append (R + Fs); the entry commits once the leader
// and enough followers for a quorum have it; the proposal is acknowledged after the apply
// (A) unless the pipeline acknowledges early.
import type { ProbeSnapshot } from "../metrics/probes.js";

/** How a pipeline orders one proposal's work, as far as its floor is concerned. */
export interface Ordering {
  /** The leader's durable append overlaps replication (MsgApps leave before it). */
  appendOverlapsReplication: boolean;
  /** The proposal is acknowledged only after it is applied. */
  ackAfterApply: boolean;
}

/** Every pipeline in src/pipeline/registry.ts; a name missing here gets no floor. */
export const ORDERINGS: Readonly<Record<string, Ordering>> = {
  basic: { appendOverlapsReplication: false, ackAfterApply: true },
  "parallel-append": { appendOverlapsReplication: true, ackAfterApply: true },
  "parallel-append-early-ack": { appendOverlapsReplication: true, ackAfterApply: false },
  "async-apply": { appendOverlapsReplication: true, ackAfterApply: true },
  "async-apply-early-ack": { appendOverlapsReplication: true, ackAfterApply: false },
  "async-apply-early-ack-lazy-follower": {
    appendOverlapsReplication: true,
    ackAfterApply: false,
  },
  "async-storage": { appendOverlapsReplication: true, ackAfterApply: true },
};

/** What one run's components measured, as the runner collects it at the run's end. */
export interface ComponentReadings {
  leader: ProbeSnapshot;
  /** Each follower's own probes, by id, where the leader could get them. */
  followers: Record<string, ProbeSnapshot>;
  /** The transport's measured one-way link latency (pings), when it has one. */
  transportOneWayP50Ns?: number;
}

/** The components a floor was computed from, all p50s in ns, recorded beside it. */
export interface FloorComponents {
  leaderSyncNs: number;
  /** Per follower id: the sync figure used for it. */
  followerSyncNs: Record<string, number>;
  /** "followers": their own probes; "leader": the leader's own sync stood in for them. */
  followerSyncSource: "followers" | "leader";
  /** One-way link latency, per follower id. */
  oneWayNs: Record<string, number>;
  /**
   * Where the deciding follower's path came from. "transport": 2 x the pings' one-way + Fs;
   * "replication": the MsgApp -> MsgAppResp round trip p50 (one-way is then half of it
   * minus Fs). Each follower's path is the smaller of the two it has.
   */
  oneWaySource: "transport" | "replication";
  /** The same choice for every follower. */
  pathSource?: Record<string, "transport" | "replication">;
  applyNs: number;
  /** Followers whose acknowledgement a commit needs (quorum minus the leader). */
  followersNeeded: number;
}

export type Floor =
  | { floorNs: number; formula: string; components: FloorComponents }
  | { floorNs: null; reason: string };

/** Ls + R + Fs (+ A) or max(Ls, R + Fs) (+ A), as a formula to print in the JSON. */
function formulaText(o: Ordering): string {
  const replication = "R+Fs";
  const commit = o.appendOverlapsReplication ? `max(Ls, ${replication})` : `Ls+${replication}`;
  return o.ackAfterApply ? `${commit}+A` : commit;
}

/**
 * The floor of `pipeline` in a cluster of `members` from one run's readings; null (with a
 * reason) when the pipeline has no formula or a component went unmeasured.
 */
export function computeFloor(pipeline: string, members: number, r: ComponentReadings): Floor {
  const ordering = ORDERINGS[pipeline];
  if (ordering === undefined) return { floorNs: null, reason: `no floor for pipeline ${pipeline}` };
  const leaderSync = r.leader.durableAppendNs;
  if (leaderSync.count === 0) return { floorNs: null, reason: "no durable append measured" };
  const followersNeeded = Math.floor(members / 2);
  if (followersNeeded === 0) {
    const commit = leaderSync.p50;
    const floorNs = commit + (ordering.ackAfterApply ? r.leader.applyNs.p50 : 0);
    return {
      floorNs,
      formula: ordering.ackAfterApply ? "Ls+A" : "Ls",
      components: {
        leaderSyncNs: leaderSync.p50,
        followerSyncNs: {},
        followerSyncSource: "followers",
        oneWayNs: {},
        oneWaySource: "transport",
        applyNs: r.leader.applyNs.p50,
        followersNeeded,
      },
    };
  }

  // Each follower's own sync where it sent its probes, else the leader's (same WAL kind).
  const rttIds = Object.keys(r.leader.replicationRttNs);
  const ids = [...new Set([...rttIds, ...Object.keys(r.followers)])].sort(
    (a, b) => Number(a) - Number(b),
  );
  const followerSyncNs: Record<string, number> = {};
  let fromFollowers = true;
  for (const id of ids) {
    const own = r.followers[id]?.durableAppendNs;
    if (own !== undefined && own.count > 0) followerSyncNs[id] = own.p50;
    else {
      followerSyncNs[id] = leaderSync.p50;
      fromFollowers = false;
    }
  }

  // One follower's path, round trip plus its sync, estimated two ways: from the transport's
  // pings (2 x one-way + Fs) and as the observed MsgApp -> MsgAppResp round trip, which holds
  // R + Fs and the follower's handling. Both time the same link; the smaller one is taken,
  // since a path longer than a replication actually observed cannot be a floor (pings
  // that queue behind data, or wait for a busy loop to answer, overstate the link).
  const oneWayNs: Record<string, number> = {};
  const pathSource: Record<string, "transport" | "replication"> = {};
  const paths: Array<{ ns: number; id: string; source: "transport" | "replication" }> = [];
  const transport = r.transportOneWayP50Ns;
  for (const id of ids) {
    const fs = followerSyncNs[id] ?? leaderSync.p50;
    const viaPings = transport !== undefined && transport > 0 ? 2 * transport + fs : undefined;
    const rtt = r.leader.replicationRttNs[id];
    const viaRtt = rtt !== undefined && rtt.count > 0 ? Math.max(rtt.p50, fs) : undefined;
    if (viaPings === undefined && viaRtt === undefined) continue;
    if (viaRtt === undefined || (viaPings !== undefined && viaPings <= viaRtt)) {
      oneWayNs[id] = transport!;
      pathSource[id] = "transport";
      paths.push({ ns: viaPings!, id, source: "transport" });
    } else {
      oneWayNs[id] = (viaRtt - fs) / 2;
      pathSource[id] = "replication";
      paths.push({ ns: viaRtt, id, source: "replication" });
    }
  }
  // A commit waits for the leader and the fastest followers that make a quorum.
  paths.sort((a, b) => a.ns - b.ns);
  const deciding = paths[followersNeeded - 1];
  if (deciding === undefined) {
    return { floorNs: null, reason: "link latency unmeasured (no replication round trips)" };
  }
  const replication = deciding.ns;
  const ls = leaderSync.p50;
  const commit = ordering.appendOverlapsReplication ? Math.max(ls, replication) : ls + replication;
  const applyNs = r.leader.applyNs.p50;
  return {
    floorNs: commit + (ordering.ackAfterApply ? applyNs : 0),
    formula: formulaText(ordering),
    components: {
      leaderSyncNs: ls,
      followerSyncNs,
      followerSyncSource: fromFollowers ? "followers" : "leader",
      oneWayNs,
      oneWaySource: deciding.source,
      pathSource,
      applyNs,
      followersNeeded,
    },
  };
}
