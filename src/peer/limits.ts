// Every bound and default the Peer works within, in one place, each with the reason for
// its value. The figures in docs/results.md were measured with these values; change one and
// re-measure.

// ---- timing ------------------------------------------------------------------------------

/** Raft tick: 100 ms, as etcd's default heartbeat interval; an election timeout of 1 s. */
export const DEFAULT_TICK_MS = 100;
/** Ticks without a leader's word before a follower campaigns (etcd: 10 heartbeats). */
export const DEFAULT_ELECTION_TICKS = 10;
/** The leader heartbeats every tick: followers learn of a lost leader within a tick. */
export const DEFAULT_HEARTBEAT_TICKS = 1;

/** How long campaignUntilLeader and waitForAllCaughtUp wait by default: a slow start of three processes on a loaded 2-core machine, with room. */
export const DEFAULT_LEADER_WAIT_MS = 30_000;
/**
 * A campaign that did not win is retried after two election timeouts (a pre-vote round and
 * a vote round, with the randomized timeout in between), and never sooner than this.
 */
export const MIN_CAMPAIGN_RETRY_MS = 50;
/** Leader waiting polls its condition this often: cheap, and short against any wait. */
export const WAIT_POLL_MS = 5;

// ---- proposals ---------------------------------------------------------------------------

/**
 * Proposals buffered between two loop turns before propose() waits: 16k, so that conc
 * workers up to 16k each have one proposal in a batch and none waits for room.
 */
export const PROPOSAL_BUFFER_SIZE = 16_384;
/**
 * Proposals appended but not yet acknowledged before the loop stops taking more: 64k, four
 * full buffers, enough for several batches in flight; it bounds the leader's memory when
 * followers are slow.
 */
export const MAX_INFLIGHT_PROPOSALS = 65_536;
/**
 * Proposals taken into one proposeBatch: 8k entries of 256 B is 2 MiB, two MsgApps at
 * MAX_SIZE_PER_MSG; a smaller cap keeps several batches in flight instead of one huge one.
 */
export const MAX_PROPOSALS_PER_TURN = 8192;
/** The proposal tracker's first ring size; it doubles as needed (4k: conc=1024 never grows it). */
export const TRACKER_INITIAL_CAPACITY = 4096;

// ---- queues between the transport, the pipeline and the loop ----------------------------

/**
 * Messages received and queued for the loop's next turn. A loop turn takes all of them, and
 * the leader's flow control keeps at most MAX_INFLIGHT_MSGS appends (and their answers) in
 * flight per follower, so in steady state a turn finds a few hundred at most; the queue only
 * grows past that when the loop is stuck (a long fsync, a GC pause) while peers keep
 * sending. Past this bound whole batches are dropped and counted (Peer.stats()), as the
 * transports drop on a full outbound queue: Raft retransmits what is lost.
 */
export const MAX_INBOUND_MESSAGES = 65_536;
/**
 * Messages the pipeline's background work (async applies, async-storage writes) queues for
 * the loop. These answer work the loop handed out, so they are bounded by the work in
 * flight and are never dropped (a lost local append response would stall the node);
 * exceeding this bound means a pipeline leaks answers and is treated as a fatal invariant.
 */
export const MAX_LOCAL_MESSAGES = 1 << 20;

// ---- the core's flow control (raft Config) ----------------------------------------------

/** Upper bound on the entry bytes of one MsgApp: 1 MiB, etcd's default. */
export const MAX_SIZE_PER_MSG = 1 << 20;
/**
 * MsgApps in flight per follower before the leader waits for acks: 256, etcd's default
 * (--max-inflight). A window of 1 measured slower (3 pairs), and smaller windows have little
 * to merge: the leader's loop already sends about one MsgApp per follower per local sync
 * (docs/decisions.md, "Fewer, larger appends").
 */
export const MAX_INFLIGHT_MSGS = 256;
/** Committed entry bytes handed out in one Ready: 64 MiB keeps one apply batch bounded. */
export const MAX_COMMITTED_SIZE_PER_READY = 64 << 20;
/** 0: no limit on uncommitted entry bytes; MAX_INFLIGHT_PROPOSALS bounds them instead. */
export const MAX_UNCOMMITTED_ENTRIES_SIZE = 0;

// ---- compaction (compaction.ts) ----------------------------------------------------------

/**
 * Entries dropped in one compaction step (one step per loop turn): 8,192 keys deleted in
 * one lmdb transaction took 30-130 ms to commit, in the background; more per step makes a
 * step's transaction longer, fewer makes more of them.
 */
export const COMPACTION_STEP_ENTRIES = 8192;
/**
 * 50,000 entries: at 256 B proposals the log holds at most ~100k applied entries (~40 MB
 * with their objects), and a follower may lag ~0.1 s at full speed before it needs a
 * snapshot.
 */
export const DEFAULT_COMPACT_EVERY_ENTRIES = 50_000;
/**
 * 64 MiB of entry data, whichever of the two comes first: at 16 KiB proposals 50,000
 * entries alone let the log hold 0.8-1.6 GB (docs/decisions.md, "Log compaction bounded by
 * bytes as well as entries"); 64 MiB keeps it at 64-128 MiB, still ~4,000 entries a
 * follower may lag by before it needs a snapshot. At 256 B the entry bound comes first.
 */
export const DEFAULT_COMPACT_EVERY_BYTES = 64 << 20;
/**
 * How long, in compaction intervals, the log may grow while compaction waits for the
 * engine's durable point before it asks the engine to write back now: 10 (500,000 entries
 * or 640 MiB by default: ~200 MB in a mem WAL at 256 B). Each lmdb write-back of a 100,000-key state costs
 * ~0.3 s of CPU whatever the interval, so the longer the log may grow, the less the engine
 * costs per entry; docs/decisions.md, "lmdb write-backs when the log needs them".
 */
export const DURABLE_LAG_INTERVALS = 10;

// ---- quorum watch (quorum-watch.ts) ------------------------------------------------------

/** How often the leader's quorum watch looks: 50 ms, well inside any stall it reports. */
export const QUORUM_WATCH_EVERY_MS = 50;
/**
 * A stall shorter than this is never called lost quorum: on a loaded 2-core machine a GC
 * pause plus a contended fdatasync on leader and follower was seen to hold the commit index
 * for 1.9 s with a follower up, and a run killed for that wastes an unattended night.
 */
export const MIN_STALL_MS = 2_000;
/** The stall bound in election timeouts (check-quorum steps a cut-off leader down in one). */
export const STALL_ELECTION_TIMEOUTS = 2;
/** Leadership lost for longer than this many election timeouts (and at least 3 s): lost. */
export const REGAIN_ELECTION_TIMEOUTS = 5;
export const MIN_REGAIN_MS = 3_000;
