// The contract between the Raft core and everything above it: the read-only log view the
// core reads, its configuration, and what `RawNode.ready()` hands back.
import type { Rng } from "./rng.js";
import type { ConfState, Entry, HardState, Message, Snapshot } from "./types.js";

/**
 * The core's read-only view of durable state. Implemented in memory by `MemoryStorage`
 * (tests, simulator) and by the storage layer's adapter over a Wal and an Engine.
 * Reads below `firstIndex()` throw RaftError("compacted"); above `lastIndex()`,
 * RaftError("unavailable").
 */
export interface LogStorage {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at least one if any is in range, then up to `maxBytes` of data. */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of entry i, for i in [firstIndex() - 1, lastIndex()]. */
  term(i: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The most recent snapshot; may throw RaftError("snapshot-temporarily-unavailable"). */
  snapshot(): Snapshot;
}

export interface Logger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {} };

export interface Config {
  /** This node's id; never 0. */
  id: number;
  /** Ticks without hearing from a leader before a follower campaigns. */
  electionTick: number;
  /** Ticks between leader heartbeats; must be less than electionTick. */
  heartbeatTick: number;
  storage: LogStorage;
  /** Last applied index when restarting; entries at or below it are not handed out again. */
  applied?: number;
  /**
   * Upper bound on the entry bytes of one MsgApp (at least one entry is always sent); unset
   * means no limit, 0 means one entry per message. Sizes count entry payload bytes.
   */
  maxSizePerMsg?: number;
  /** Upper bound on the committed entry bytes handed out in one Ready; unset or 0: no limit. */
  maxCommittedSizePerReady?: number;
  /** Upper bound on the bytes of uncommitted entries a leader accepts; 0 means no limit. */
  maxUncommittedEntriesSize?: number;
  /** MsgApps in flight to one follower in replicate state. */
  maxInflightMsgs: number;
  /** Bytes in flight to one follower; 0 means no limit. */
  maxInflightBytes?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  /**
   * Whether a follower starts an election on its own when it has not heard from a leader
   * for an election timeout (default true, as Raft does). False makes a node that only
   * votes and campaigns when told to (campaign(), or a leader's transfer): rafttoy's
   * followers, so that only the benchmarking peer ever leads.
   */
  campaignOnElectionTimeout?: boolean;
  disableProposalForwarding?: boolean;
  /** Hand writes and applies to local storage threads as messages (see LOCAL_APPEND_THREAD). */
  asyncStorageWrites?: boolean;
  /** Every random choice the core makes comes from here. */
  rng: Rng;
  logger?: Logger;
  /**
   * Test-only: switches off exactly one safety or liveness rule each, so that the
   * simulator's self-test can prove it catches the resulting violations. Never set outside
   * that self-test.
   */
  testingBugs?: TestingBugs;
}

/** Deliberate safety bugs for the simulator's self-test (see Config.testingBugs). */
export interface TestingBugs {
  /** The leader commits an entry of an earlier term by counting replicas. */
  commitPreviousTermByCount?: boolean;
  /** A voter grants its vote without checking that the candidate's log is up to date. */
  ignoreCandidateLogUpToDate?: boolean;
  /** The leader commits an index one acknowledgement short of a voter majority. */
  commitWithoutMajority?: boolean;
  /** The leader records a follower's match one entry past what the follower acknowledged. */
  matchRunsAhead?: boolean;
  /** The leader answers a ReadIndex at once, without a heartbeat round to a voter quorum. */
  readIndexWithoutQuorum?: boolean;
  /** With check-quorum, a leader that heard from no quorum stays leader anyway. */
  checkQuorumNeverStepsDown?: boolean;
  /** A leadership transfer waits for the transferee but never sends it MsgTimeoutNow. */
  transferSkipsTimeoutNow?: boolean;
  /** A follower's election timer is not reset by its leader's appends and heartbeats. */
  electionTimerIgnoresLeader?: boolean;
}

/** Address of the local append worker in asyncStorageWrites mode. Never on the wire. */
export const LOCAL_APPEND_THREAD = Number.MAX_SAFE_INTEGER;
/** Address of the local apply worker in asyncStorageWrites mode. Never on the wire. */
export const LOCAL_APPLY_THREAD = Number.MAX_SAFE_INTEGER - 1;

export type Role = "follower" | "pre-candidate" | "candidate" | "leader";

export interface SoftState {
  lead: number;
  role: Role;
}

export interface ReadState {
  /** The commit index at which the read may be served once applied. */
  index: number;
  /** The caller's request context, echoed back. */
  requestCtx: Uint8Array;
}

export interface Ready {
  /** Present when the leader or role changed since the last Ready. */
  softState?: SoftState;
  /** Present when term, vote or commit changed; persist before sending `messages`. */
  hardState?: HardState;
  readStates: ReadState[];
  /** Entries to append to stable storage before sending `messages`. */
  entries: Entry[];
  /** Snapshot to persist (a follower catching up). */
  snapshot?: Snapshot;
  /** Committed entries to apply, in order. */
  committedEntries: Entry[];
  /**
   * Messages to send once `entries`, `hardState` and `snapshot` are durable. With
   * asyncStorageWrites, also the local MsgStorageAppend / MsgStorageApply messages.
   */
  messages: Message[];
  /** Whether the hard state or entries must be synced (fdatasync) before sending. */
  mustSync: boolean;
}

export type ProgressState = "probe" | "replicate" | "snapshot";

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
  pendingSnapshot: number;
  inflight: number;
}

export interface Status {
  id: number;
  term: number;
  vote: number;
  commit: number;
  lead: number;
  role: Role;
  applied: number;
  leadTransferee: number;
  /** Per-peer progress; present on the leader only. */
  progress: Map<number, ProgressStatus>;
}
