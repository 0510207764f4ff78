// One life of the Raft state within one test epoch: a RawNode built from the storage as it
// stands, its pipeline, and the PipelineHost through which the pipeline reaches back into
// the Peer. A reset retires the incarnation (live = false: its late sends, local steps and
// acks are ignored) and makes a new one over wiped storage.
import type {
  Pipeline,
  PipelineHost,
  PipelineMetrics,
  PipelineTestingBugs,
} from "../pipeline/pipeline.js";
import { pipelineSpec } from "../pipeline/registry.js";
import type { Config, Role } from "../raft/api.js";
import { SeededRng } from "../raft/rng.js";
import type { ConfChange, Entry, Message } from "../raft/types.js";
import type { Epoch } from "../transport/transport.js";
import type { Clock } from "./clock.js";
import { CommitCoalescer } from "./commit-coalescer.js";
import type { PeerNode, PeerStorage, RaftBinding } from "./contracts.js";
import {
  MAX_COMMITTED_SIZE_PER_READY,
  MAX_INFLIGHT_MSGS,
  MAX_SIZE_PER_MSG,
  MAX_UNCOMMITTED_ENTRIES_SIZE,
} from "./limits.js";

export interface Incarnation {
  readonly epoch: Epoch;
  readonly node: PeerNode;
  readonly pipeline: Pipeline;
  live: boolean;
  /** Commit-only MsgApps held back (commit coalescing); dies with the incarnation. */
  readonly coalescer: CommitCoalescer;
  role: Role;
  lead: number;
}

/** What every incarnation of one Peer is built from. */
export interface IncarnationSettings {
  id: number;
  peerIds: readonly number[];
  storage: PeerStorage;
  raft: RaftBinding;
  pipeline: string;
  electionTicks: number;
  heartbeatTicks: number;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  campaignOnElectionTimeout: boolean;
  /** Followers forward proposals to the leader (service mode) instead of refusing them. */
  forwardProposals: boolean;
  /** Bootstrap `peerIds` on fresh storage; false for a node joining a running cluster. */
  bootstrap: boolean;
  /** The core's election-timeout randomness, mixed with the node id; asked per incarnation. */
  seed: () => number;
  /** The Peer's clock, handed to the pipeline. */
  clock: Clock;
  /** Planted pipeline bugs (the whole-node simulator's self-test only). */
  pipelineTestingBugs?: PipelineTestingBugs;
}

/** How an incarnation's pipeline reaches the Peer. */
export interface IncarnationHooks {
  metrics: PipelineMetrics;
  /** Sends for `inc`, which is live. */
  send(inc: Incarnation, messages: readonly Message[]): void;
  /** Queues local messages (async storage, background applies) for the loop's next turn. */
  stepLocal(messages: readonly Message[]): void;
  /** Settles the tracked proposals `committed` covers. */
  ack(committed: readonly Entry[]): void;
  /** A membership change was applied (service mode learns members' addresses from it). */
  confChangeApplied?(cc: ConfChange): void;
  fail(err: unknown): void;
}

export function createIncarnation(
  s: IncarnationSettings,
  hooks: IncarnationHooks,
  epoch: Epoch,
  fresh: boolean,
): Incarnation {
  const spec = pipelineSpec(s.pipeline);
  const config: Config = {
    id: s.id,
    electionTick: s.electionTicks,
    heartbeatTick: s.heartbeatTicks,
    storage: s.storage.logView(),
    applied: fresh ? 0 : s.storage.appliedIndex(),
    maxSizePerMsg: s.maxSizePerMsg ?? MAX_SIZE_PER_MSG,
    maxCommittedSizePerReady: MAX_COMMITTED_SIZE_PER_READY,
    maxUncommittedEntriesSize: MAX_UNCOMMITTED_ENTRIES_SIZE,
    maxInflightMsgs: s.maxInflightMsgs ?? MAX_INFLIGHT_MSGS,
    checkQuorum: true,
    preVote: true,
    campaignOnElectionTimeout: s.campaignOnElectionTimeout,
    disableProposalForwarding: !s.forwardProposals,
    asyncStorageWrites: spec.asyncStorageWrites,
    rng: new SeededRng((s.seed() ^ Math.imul(s.id, 0x9e3779b1)) >>> 0),
  };
  const node = s.raft.createNode(config);
  if (fresh && s.bootstrap) node.bootstrap([...s.peerIds]);
  const inc: { -readonly [K in keyof Incarnation]: Incarnation[K] } = {
    epoch,
    node,
    pipeline: undefined as unknown as Pipeline,
    live: true,
    coalescer: new CommitCoalescer(),
    role: "follower",
    lead: 0,
  };
  inc.pipeline = spec.create(makeHost(s, hooks, inc));
  return inc;
}

function makeHost(s: IncarnationSettings, hooks: IncarnationHooks, inc: Incarnation): PipelineHost {
  const storage = s.storage;
  return {
    id: s.id,
    node: inc.node,
    storage,
    metrics: hooks.metrics,
    clock: s.clock,
    ...(s.pipelineTestingBugs !== undefined ? { testingBugs: s.pipelineTestingBugs } : {}),
    send: (messages) => {
      // A stale incarnation's late sends would carry the wrong epoch's state.
      if (!inc.live || messages.length === 0) return;
      hooks.send(inc, messages);
    },
    stepLocal: (messages) => {
      if (!inc.live) return;
      hooks.stepLocal(messages);
    },
    appliedIndex: () => storage.appliedIndex(),
    readLog: (lo, hi) =>
      lo >= hi ? [] : storage.logView().entries(lo, hi, Number.POSITIVE_INFINITY),
    isLeader: () => inc.role === "leader",
    ack: (committed: readonly Entry[]) => {
      if (!inc.live) return;
      hooks.ack(committed);
    },
    applyConfChange: async (entry: Entry) => {
      const cc = s.raft.decodeConfChange(entry.data);
      const cs = inc.node.applyConfChange(cc, entry.index);
      await storage.setConfState(cs);
      hooks.confChangeApplied?.(cc);
    },
    fail: (err) => hooks.fail(err),
  };
}
