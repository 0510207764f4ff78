// The --max-key-bytes, --max-value-bytes and --max-keys limits, checked by both front-ends
// before anything is proposed, so a refused write never reaches the log.
import type { KvReadView, KvWrite } from "./contract.js";

export interface KvLimits {
  /** 0: no limit. */
  maxKeyBytes: number;
  maxValueBytes: number;
  maxKeys: number;
}

export const NO_LIMITS: KvLimits = { maxKeyBytes: 0, maxValueBytes: 0, maxKeys: 0 };

export type LimitName = "max-key-bytes" | "max-value-bytes" | "max-keys";

export interface LimitViolation {
  limit: LimitName;
  /** Names the limit and its value, e.g. "value is 300 bytes, over --max-value-bytes 256". */
  message: string;
}

function keyTooLong(key: Uint8Array, limits: KvLimits): LimitViolation | null {
  if (limits.maxKeyBytes > 0 && key.byteLength > limits.maxKeyBytes) {
    return {
      limit: "max-key-bytes",
      message: `key is ${key.byteLength} bytes, over --max-key-bytes ${limits.maxKeyBytes}`,
    };
  }
  return null;
}

function valueTooLong(value: Uint8Array, limits: KvLimits): LimitViolation | null {
  if (limits.maxValueBytes > 0 && value.byteLength > limits.maxValueBytes) {
    return {
      limit: "max-value-bytes",
      message: `value is ${value.byteLength} bytes, over --max-value-bytes ${limits.maxValueBytes}`,
    };
  }
  return null;
}

/** The key and value sizes of one write; null when within the limits. */
export function sizeViolation(write: KvWrite, limits: KvLimits): LimitViolation | null {
  switch (write.op) {
    case "set":
      return keyTooLong(write.key, limits) ?? valueTooLong(write.value, limits);
    case "mset":
      for (const [k, v] of write.pairs) {
        const bad = keyTooLong(k, limits) ?? valueTooLong(v, limits);
        if (bad !== null) return bad;
      }
      return null;
    case "push":
      for (const v of write.values) {
        const bad = valueTooLong(v, limits);
        if (bad !== null) return bad;
      }
      return keyTooLong(write.key, limits);
    case "incrby":
    case "pop":
      return keyTooLong(write.key, limits);
    case "del":
      return null;
  }
}

/** The keys a write would create when absent. */
function createdKeys(write: KvWrite): readonly Uint8Array[] {
  switch (write.op) {
    case "set":
      return write.condition === "xx" ? [] : [write.key];
    case "mset":
      return write.pairs.map(([k]) => k);
    case "push":
    case "incrby":
      return [write.key];
    default:
      return [];
  }
}

/**
 * Checks --max-keys for a batch against the local (possibly stale) state: writes are refused
 * one by one, in order, once the keys they would add pass the limit. The count is a bound
 * kept by each node from what it has applied, not a cluster-wide transaction: concurrent
 * batches on different nodes can each pass it by what the other adds.
 */
export function keyCountViolations(
  writes: readonly KvWrite[],
  limits: KvLimits,
  view: KvReadView,
): (LimitViolation | null)[] {
  let size = view.size();
  const added = new Set<string>();
  return writes.map((w) => {
    const fresh: string[] = [];
    for (const k of createdKeys(w)) {
      const s = Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString("latin1");
      if (!added.has(s) && !fresh.includes(s) && !view.exists(k)) fresh.push(s);
    }
    if (fresh.length > 0 && size + fresh.length > limits.maxKeys) {
      return {
        limit: "max-keys",
        message: `the store holds ${size} keys; --max-keys ${limits.maxKeys}`,
      };
    }
    for (const s of fresh) added.add(s);
    size += fresh.length;
    return null;
  });
}
