// What a Peer is built from, its defaults (from limits.ts), and the counters it reports.
import type { Metrics } from "../metrics/index.js";
import type { ComponentProbes } from "../metrics/probes.js";
import type { PipelineSpec, PipelineTestingBugs } from "../pipeline/pipeline.js";
import { pipelineSpec } from "../pipeline/registry.js";
import type { Epoch, Transport } from "../transport/transport.js";
import type { Scheduler } from "./clock.js";
import type { CompactEvery, CompactionStats } from "./compaction.js";
import type { PeerStorage, RaftBinding } from "./contracts.js";
import type { EpochStore } from "./epoch.js";
import { PeerError } from "./errors.js";
import type { IncarnationSettings } from "./incarnation.js";
import * as limits from "./limits.js";
import type { ServiceMode } from "./service-mode.js";

export interface PeerOptions {
  id: number;
  /** Every member's id, this one included. */
  peerIds: readonly number[];
  transport: Transport;
  storage: PeerStorage;
  raft: RaftBinding;
  /** A pipeline name from src/pipeline/registry.ts. */
  pipeline: string;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  metrics?: Metrics;
  /** Always-on component latencies for the benchmark's speed-of-light floor. */
  probes?: ComponentProbes;
  /**
   * Set in the leader process: it owns the test epoch, starts it at `start` (process start,
   * ms) and never adopts another's. Unset in followers, which follow the newest epoch seen.
   */
  epochOwner?: { start: number };
  /**
   * Whether this node starts elections on its own after an election timeout. Default: only
   * the epoch owner does. A follower that campaigned could win an epoch while its link back
   * to the owner is still reconnecting, and then hold it with the other follower's votes
   * against the owner for good; a follower that only votes leaves every epoch to its owner.
   */
  campaignOnElectionTimeout?: boolean;
  /** Where a follower remembers the epoch of its durable state. */
  epochStore?: EpochStore;
  /** Upper bound on the entry bytes of one MsgApp. */
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  /** Proposals buffered between two loop turns before propose() waits. */
  proposalBufferSize?: number;
  /** Proposals appended but not yet acknowledged before the loop stops taking more. */
  maxInflightProposals?: number;
  /** Proposals taken into one proposeBatch; smaller batches keep several in flight. */
  maxProposalsPerTurn?: number;
  /** Hold commit-only MsgApps for a turn (commit-coalescer.ts). Default on. */
  coalesceCommitAppends?: boolean;
  /** When to compact the log behind the applied index (compaction.ts); default 50k entries or 64 MiB. */
  compactEvery?: CompactEvery;
  /**
   * Seeds the core's election-timeout randomness (mixed with the node id). Default: the
   * scheduler's clock in µs, read for each incarnation.
   */
  seed?: number;
  /**
   * Ordinary Raft for the key-value service instead of the benchmark's test epochs
   * (service-mode.ts). Unset: the benchmark peer.
   */
  service?: ServiceMode;
  /** Bugs planted in the pipeline, for the whole-node simulator's self-test only. */
  pipelineTestingBugs?: PipelineTestingBugs;
  /** Time and timers (ticker, waits, latencies). Default: the real clock and Node's timers. */
  scheduler?: Scheduler;
  log?: (line: string) => void;
  /** A write failed or an invariant broke: the node cannot go on. Default: log it. */
  onFatal?: (err: unknown) => void;
}

/** Counters for results and tests. */
export interface PeerStats {
  epoch: Epoch;
  droppedOldEpochBatches: number;
  /** Inbound batches dropped because the inbound queue was full (limits.ts). */
  droppedInboundBatches: number;
  inflightProposals: number;
  /** Proposals waiting in the buffer for the loop's next turn. */
  bufferedProposals: number;
  /** Messages queued for the loop's next turn: from the transport, and from the pipeline. */
  queuedInbound: number;
  queuedLocal: number;
  /** Commit-only MsgApps held back by commit coalescing. */
  heldCommitAppends: number;
  compaction: CompactionStats;
}

/** The options with every default filled in. */
export interface ResolvedPeerOptions {
  tickMs: number;
  electionTicks: number;
  maxInflightProposals: number;
  maxProposalsPerTurn: number;
  proposalBufferSize: number;
  coalesceCommitAppends: boolean;
  /** What each incarnation of the Raft state is built from. */
  incarnation: IncarnationSettings;
}

/** Throws unless the options make a Peer; returns the pipeline they name. */
export function checkPeerOptions(opts: PeerOptions): PipelineSpec {
  // A node joining a running cluster is not yet in the configuration it knows.
  if (opts.service?.bootstrap !== false && !opts.peerIds.includes(opts.id)) {
    throw new PeerError(
      "not-a-member",
      `peer id ${opts.id} is not among the peers ${opts.peerIds.join(",")}`,
    );
  }
  return pipelineSpec(opts.pipeline); // an unknown name fails here, listing the names
}

export function resolvePeerOptions(opts: PeerOptions, sched: Scheduler): ResolvedPeerOptions {
  const electionTicks = opts.electionTicks ?? limits.DEFAULT_ELECTION_TICKS;
  const seed = opts.seed;
  return {
    tickMs: opts.tickMs ?? limits.DEFAULT_TICK_MS,
    electionTicks,
    maxInflightProposals: opts.maxInflightProposals ?? limits.MAX_INFLIGHT_PROPOSALS,
    maxProposalsPerTurn: opts.maxProposalsPerTurn ?? limits.MAX_PROPOSALS_PER_TURN,
    proposalBufferSize: opts.proposalBufferSize ?? limits.PROPOSAL_BUFFER_SIZE,
    coalesceCommitAppends: opts.coalesceCommitAppends ?? true,
    incarnation: {
      id: opts.id,
      peerIds: opts.peerIds,
      storage: opts.storage,
      raft: opts.raft,
      pipeline: opts.pipeline,
      electionTicks,
      heartbeatTicks: opts.heartbeatTicks ?? limits.DEFAULT_HEARTBEAT_TICKS,
      ...(opts.maxSizePerMsg !== undefined ? { maxSizePerMsg: opts.maxSizePerMsg } : {}),
      ...(opts.maxInflightMsgs !== undefined ? { maxInflightMsgs: opts.maxInflightMsgs } : {}),
      // A service node is ordinary Raft: every voter campaigns, any node takes proposals.
      campaignOnElectionTimeout:
        opts.service !== undefined ||
        (opts.campaignOnElectionTimeout ?? opts.epochOwner !== undefined),
      forwardProposals: opts.service !== undefined,
      bootstrap: opts.service?.bootstrap ?? true,
      seed: seed !== undefined ? () => seed : () => Math.floor(sched.now() * 1000),
      clock: sched,
      ...(opts.pipelineTestingBugs !== undefined
        ? { pipelineTestingBugs: opts.pipelineTestingBugs }
        : {}),
    },
  };
}
