// The seam between the key-value service's front-ends (RESP2 and HTTP, src/service/resp/ and
// src/service/http/) and the replicated state behind them (a node running the Peer in service
// mode). Front-ends are written against KvBackend only, so they can be tested over a backend
// that runs in one process and served over a real three-node cluster unchanged.

/** A write, replicated through the log and applied by every node's state machine in order. */
export type KvWrite =
  | { op: "set"; key: Uint8Array; value: Uint8Array; condition?: "nx" | "xx" }
  | { op: "mset"; pairs: readonly (readonly [Uint8Array, Uint8Array])[] }
  | { op: "del"; keys: readonly Uint8Array[] }
  | { op: "incrby"; key: Uint8Array; by: bigint }
  | { op: "push"; key: Uint8Array; values: readonly Uint8Array[]; end: "left" | "right" }
  | { op: "pop"; key: Uint8Array; end: "left" | "right" };

/**
 * What applying a write produced, computed by the state machine (the same on every node):
 * set → "ok" or "not-set" (a failed NX/XX condition); mset → "ok"; del → integer (keys
 * removed); incrby → integer (the new value); push → integer (the list's new length);
 * pop → bulk (null when the list is empty or absent). A write the state machine refuses
 * (incr of a non-integer, a list operation on a string) is an error result, not an exception.
 */
export type KvResult =
  | { kind: "ok" }
  | { kind: "not-set" }
  | { kind: "integer"; value: bigint }
  | { kind: "bulk"; value: Uint8Array | null }
  | { kind: "error"; code: KvResultErrorCode; message: string };

export type KvResultErrorCode = "not-integer" | "overflow" | "wrong-type";

/** A consistent view of the applied state: linearizable or stale, as the read asked. */
export interface KvReadView {
  get(key: Uint8Array): Uint8Array | null;
  /** 1 when the key holds a string or a list. */
  exists(key: Uint8Array): boolean;
  /** Every key (string or list) matching a Redis glob pattern, in byte order. */
  keys(pattern: Uint8Array): Uint8Array[];
  /** Keys whose bytes start with `prefix`, with their string values, in byte order. */
  scanPrefix(prefix: Uint8Array, limit: number): [Uint8Array, Uint8Array][];
  /** Number of keys (strings and lists). */
  size(): number;
  /** Length of the list at `key` (0 when absent); null when the key holds a string. */
  listLength(key: Uint8Array): number | null;
}

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

export interface KvBackend {
  /** Replicates `write` and resolves with its result once applied on this node. */
  write(write: KvWrite): Promise<KvResult>;
  /**
   * Replicates every write of one client chunk as one batch (RESP pipelining); results in
   * the same order. A failure of the whole batch rejects; per-write refusals are results.
   */
  writeBatch(writes: readonly KvWrite[]): Promise<KvResult[]>;
  /** Resolves with a view once this node has applied everything committed before the call
   * (ReadIndex, one round for all reads waiting in a loop turn), or at once for "stale". */
  read(mode: ReadMode): Promise<KvReadView>;
  cluster(): ClusterInfo;
  /** True while this node can serve (it knows a leader, or is one, and storage is healthy). */
  healthy(): boolean;
  /** Adds a node as a learner, catches it up, then promotes it to voter. */
  join(member: { id: number; raft: string; resp?: string; http?: string }): Promise<void>;
  remove(id: number): Promise<void>;
}
