// The seam between the key-value service's front-ends (RESP2 and HTTP, src/service/resp/ and
// src/service/http/) and the replicated state behind them (a node running the Peer in service
// mode). Front-ends are written against KvBackend only, so they can be tested over a backend
// that runs in one process and served over a real three-node cluster unchanged.

// The state machine's vocabulary lives beside the proposal format (the engines apply it and
// sit below the service); re-exported here so the front-ends need only this file.
export type {
  KvReadView,
  KvResult,
  KvResultErrorCode,
  KvWrite,
  MemberAddresses,
} from "../proposal/kv.js";

import type { KvReadView, KvResult, KvWrite } from "../proposal/kv.js";

export type ReadMode = "linearizable" | "stale";

export interface MemberInfo {
  id: number;
  /** The Raft transport's address (host:port). */
  raft: string;
  /** Client-facing addresses, when the member announced them. */
  resp?: string;
  http?: string;
  role: "voter" | "learner";
  /** The applied index this node last heard of for the member (its own: exact). */
  appliedIndex?: number;
}

export interface ClusterInfo {
  /** This node's id and its role in the current term. */
  id: number;
  role: "leader" | "follower" | "candidate" | "pre-candidate" | "learner";
  /** 0 while no leader is known. */
  leader: number;
  term: number;
  commitIndex: number;
  appliedIndex: number;
  members: MemberInfo[];
}

/**
 * Why a backend call failed, for the front-ends to map onto protocol errors:
 * - "no-leader": none known within the bound (RESP `-CLUSTERDOWN no leader`, HTTP 503 +
 *   Retry-After), raised within a bounded time, never a hang;
 * - "moved": --redirect mode on a follower (RESP `-MOVED 0 host:port`, HTTP 307 Location);
 * - "timeout": the write's outcome is unknown (it may still apply);
 * - "limit": a --max-* limit (nothing was proposed; HTTP 400/413);
 * - "unavailable": the node is stopping or its storage failed;
 * - "bad-request": a membership request that cannot be carried out.
 */
export type BackendErrorCode =
  | "no-leader"
  | "moved"
  | "timeout"
  | "limit"
  | "unavailable"
  | "bad-request";

export class BackendError extends Error {
  constructor(
    readonly code: BackendErrorCode,
    message: string,
    /** For "moved": the leader's client address of the protocol asked (RESP or HTTP). */
    readonly leader?: { id: number; resp?: string; http?: string },
  ) {
    super(message);
    this.name = "BackendError";
  }
}

/** Where readWith delivers a read's view, or why there is none: one of them, once. */
export interface ReadCallbacks {
  view(view: KvReadView): void;
  fail(err: unknown): void;
}

/** Where writeBatchWith delivers a batch's results (in its order), or why there are none: one of them, once. */
export interface WriteCallbacks {
  done(results: KvResult[]): void;
  fail(err: unknown): void;
}

export interface KvBackend {
  /** Replicates `write` and resolves with its result once applied on this node. */
  write(write: KvWrite): Promise<KvResult>;
  /**
   * Replicates every write of one client chunk as one batch (RESP pipelining); results in
   * the same order. A failure of the whole batch rejects; per-write refusals are results.
   */
  writeBatch(writes: readonly KvWrite[]): Promise<KvResult[]>;
  /**
   * writeBatch() without a promise, for the front-ends' hot path. The batch is handed over in
   * this call (with no leader known yet: queued behind the batches before it), so a later
   * call's batch is proposed after it; `to` hears once, inside this call only when the batch
   * is refused at once (the node is not open, --redirect on a follower).
   */
  writeBatchWith(writes: readonly KvWrite[], to: WriteCallbacks): void;
  /** Resolves with a view once this node has applied everything committed before the call
   * (ReadIndex, one round for all reads waiting in a loop turn), or at once for "stale". */
  read(mode: ReadMode): Promise<KvReadView>;
  /**
   * read() without a promise, for the front-ends' hot path: `to.view` is called with the view
   * (at once, inside this call, for "stale"; from the round's answer for "linearizable"),
   * or `to.fail`. The view is valid in that call only, not across an await.
   */
  readWith(mode: ReadMode, to: ReadCallbacks): void;
  cluster(): ClusterInfo;
  /** True while this node can serve (it knows a leader, or is one, and storage is healthy). */
  healthy(): boolean;
  /** Adds a node as a learner, catches it up, then promotes it to voter. */
  join(member: { id: number; raft: string; resp?: string; http?: string }): Promise<void>;
  remove(id: number): Promise<void>;
}
