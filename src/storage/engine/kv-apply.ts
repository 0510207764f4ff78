// What each key-value command means, written once for every engine over the small store
// interface an engine implements (strings and lists under one key space: a key holds one or
// the other). Redis's semantics: SET replaces a list, NX/XX look at keys of either type,
// INCRBY works on strings holding a signed 64-bit decimal, list commands refuse strings, and
// a list's last pop removes its key.
import type { KvResult, KvWrite } from "../../proposal/kv.js";

export type KeyType = "none" | "string" | "list";

/** The applied key space as the command semantics see it. */
export interface KvStore {
  typeOf(key: Uint8Array): KeyType;
  /** The string at `key`; null when absent or a list. */
  getString(key: Uint8Array): Uint8Array | null;
  /** Sets a string, replacing whatever `key` held. `value` is not modified later. */
  setString(key: Uint8Array, value: Uint8Array): void;
  /** Removes `key` of either type; whether it existed. */
  deleteKey(key: Uint8Array): boolean;
  /** Length of the list at `key`; 0 when absent (the caller checked it is no string). */
  listLength(key: Uint8Array): number;
  /** Pushes onto the list at `key` (absent: a new list); the new length. */
  listPush(key: Uint8Array, values: readonly Uint8Array[], end: "left" | "right"): number;
  /** Pops from the list at `key` (which exists); its last element removes the key. */
  listPop(key: Uint8Array, end: "left" | "right"): Uint8Array;
}

export const OK: KvResult = Object.freeze({ kind: "ok" });
const NOT_SET: KvResult = Object.freeze({ kind: "not-set" });
const NULL_BULK: KvResult = Object.freeze({ kind: "bulk", value: null });
export const WRONG_TYPE: KvResult = Object.freeze({
  kind: "error",
  code: "wrong-type",
  message: "Operation against a key holding the wrong kind of value",
});
const NOT_INTEGER: KvResult = Object.freeze({
  kind: "error",
  code: "not-integer",
  message: "value is not an integer or out of range",
});
const OVERFLOW: KvResult = Object.freeze({
  kind: "error",
  code: "overflow",
  message: "increment or decrement would overflow",
});

const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const ascii = new TextEncoder();

/**
 * The value of a string holding a signed 64-bit integer the way Redis writes one: optional
 * "-", digits without a leading zero (except "0" itself), at most 20 bytes; else null.
 */
export function parseI64(b: Uint8Array): bigint | null {
  if (b.length === 0 || b.length > 20) return null;
  let i = b[0] === 0x2d ? 1 : 0;
  if (i === b.length) return null;
  if (b[i] === 0x30 && b.length > i + 1) return null;
  if (b[i] === 0x30 && i === 1) return null; // "-0"
  let n = 0n;
  for (; i < b.length; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return null;
    n = n * 10n + BigInt(d);
  }
  if (b[0] === 0x2d) n = -n;
  return n < I64_MIN || n > I64_MAX ? null : n;
}

/** Applies one command to `store` and says what it produced. */
export function applyKvWrite(store: KvStore, w: KvWrite): KvResult {
  switch (w.op) {
    case "set": {
      if (w.condition !== undefined) {
        const exists = store.typeOf(w.key) !== "none";
        if (exists !== (w.condition === "xx")) return NOT_SET;
      }
      store.setString(w.key, w.value);
      return OK;
    }
    case "mset":
      for (const [k, v] of w.pairs) store.setString(k, v);
      return OK;
    case "del": {
      let removed = 0n;
      for (const k of w.keys) if (store.deleteKey(k)) removed++;
      return { kind: "integer", value: removed };
    }
    case "incrby": {
      const type = store.typeOf(w.key);
      if (type === "list") return WRONG_TYPE;
      let current = 0n;
      if (type === "string") {
        const parsed = parseI64(store.getString(w.key)!);
        if (parsed === null) return NOT_INTEGER;
        current = parsed;
      }
      const next = current + w.by;
      if (next < I64_MIN || next > I64_MAX) return OVERFLOW;
      store.setString(w.key, ascii.encode(next.toString()));
      return { kind: "integer", value: next };
    }
    case "push": {
      if (store.typeOf(w.key) === "string") return WRONG_TYPE;
      if (w.values.length === 0) return { kind: "integer", value: BigInt(store.listLength(w.key)) };
      return { kind: "integer", value: BigInt(store.listPush(w.key, w.values, w.end)) };
    }
    case "pop": {
      const type = store.typeOf(w.key);
      if (type === "string") return WRONG_TYPE;
      if (type === "none") return NULL_BULK;
      return { kind: "bulk", value: store.listPop(w.key, w.end) };
    }
  }
}
