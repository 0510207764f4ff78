// The key-value state machine's vocabulary: the writes it applies, the result each one
// produces and the read view over its applied state. Defined here, beside the format that
// carries the writes in the log, so that the engines (storage/) and the service's contract
// (service/contract.ts, which re-exports them) share one definition without storage
// depending on the service.

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

/**
 * A consistent view of the applied state: linearizable or stale, as the read asked. The
 * engines hand out a live view: every call sees the state applied so far, so a caller that
 * makes all its calls in one synchronous run sees one point of the log.
 *
 * GET on a list is a wrong-type error in Redis: `get` returns null for a list key, and
 * `listLength` tells the two apart (a list is never empty: its last pop removes the key).
 */
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

/** A member's addresses, kept in the state machine's reserved metadata. */
export interface MemberAddresses {
  /** The Raft transport's host:port. */
  raft?: string;
  resp?: string;
  http?: string;
}

/**
 * Node-internal metadata writes, a command kind of their own: never a key, so KEYS, DBSIZE
 * and scans do not see them, but applied, snapshotted and restored like the keys.
 */
export type MemberWrite =
  | { op: "member-addresses"; id: number; addresses: MemberAddresses }
  | { op: "forget-member"; id: number };

/** Everything an entry's command can ask of the state machine. */
export type StateCommand = KvWrite | MemberWrite;
