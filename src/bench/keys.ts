// Which key each benchmark proposal writes (--keys): uniform over N keys (the default,
// 100,000, like a store with a working set), a fresh key per proposal (`unique`, as the Go
// original does), or Zipf-skewed over 100,000 keys (`zipf:S`, a few hot keys). The choice
// decides how big the engine's map grows and how often an apply overwrites.
import { UsageError } from "../errors/errors.js";

export type KeySpec =
  | { kind: "uniform"; keys: number }
  | { kind: "unique" }
  | { kind: "zipf"; exponent: number; keys: number };

export const DEFAULT_KEYS = 100_000;

/** Parses --keys: `N`, `unique` or `zipf:S`. Throws an Error saying what is accepted. */
export function parseKeySpec(text: string): KeySpec {
  const t = text.trim();
  if (t === "unique") return { kind: "unique" };
  if (/^\d+$/.test(t)) {
    const keys = Number(t);
    if (Number.isSafeInteger(keys) && keys >= 1 && keys <= 0x1_0000_0000) {
      return { kind: "uniform", keys };
    }
  }
  const zipf = /^zipf:(\d+(?:\.\d+)?|\.\d+)$/.exec(t);
  if (zipf !== null) {
    const exponent = Number(zipf[1]);
    if (exponent > 0) return { kind: "zipf", exponent, keys: DEFAULT_KEYS };
  }
  throw new UsageError(
    `${JSON.stringify(text)} is not a key choice: give a number of keys (e.g. 100000), unique, or zipf:S with S above 0 (e.g. zipf:1.1)`,
  );
}

export function formatKeySpec(k: KeySpec): string {
  return k.kind === "uniform"
    ? String(k.keys)
    : k.kind === "unique"
      ? "unique"
      : `zipf:${k.exponent}`;
}

/** Returns the next key number; deterministic for a seed. */
export type KeyChooser = () => number;

/** xorshift32: fast, seedable, plenty for spreading keys. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 0x9e3779b9;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x1_0000_0000;
  };
}

export function keyChooser(spec: KeySpec, seed = 1): KeyChooser {
  if (spec.kind === "unique") {
    let next = 0;
    return () => next++ % 0x1_0000_0000;
  }
  const random = rng(seed);
  if (spec.kind === "uniform") {
    const n = spec.keys;
    return () => Math.floor(random() * n);
  }
  // Zipf: key k (from 0) has weight 1 / (k + 1)^S; pick by binary search in the cumulative
  // weights, built once (100,000 doubles).
  const n = spec.keys;
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1) ** spec.exponent;
    cumulative[k] = sum;
  }
  return () => {
    const target = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}
