// The Mann–Whitney U test (Wilcoxon rank-sum test), two-sided: are two samples drawn from
// distributions with the same location? It assumes nothing about the shape of either
// distribution, which suits benchmark timings (skewed, with outliers).
//
// Small samples, the usual case for benchmarks (--count 4..20), get the exact p-value from
// the permutation distribution of the rank sum: under the null hypothesis every way of
// choosing which n of the N pooled observations belong to the first sample is equally
// likely. Ties get mid-ranks, and the distribution is that of the mid-rank sums, so the
// exact test stays exact with ties. Larger samples use the normal approximation with the
// tie correction and a continuity correction.
import { choose } from "./stats.js";

export interface MannWhitneyResult {
  /** Pairs (x, y) with x > y, ties counting one half. */
  u: number;
  /** Two-sided p-value: 2 · min(P(R ≤ r), P(R ≥ r)), at most 1. */
  p: number;
  exact: boolean;
}

/** Above this many pooled observations the normal approximation is used. */
export const EXACT_LIMIT = 60;

/** Mid-ranks of the pooled sample, doubled so that they are integers. */
function doubledMidRanks(pooled: readonly number[]): { ranks: number[]; tieSizes: number[] } {
  const order = pooled.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(pooled.length);
  const tieSizes: number[] = [];
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1]![0] === order[start]![0]) end++;
    // Ranks start..end (0-based) share the mean rank ((start+1)+(end+1))/2; doubled:
    const doubled = start + end + 2;
    for (let k = start; k <= end; k++) ranks[order[k]![1]] = doubled;
    tieSizes.push(end - start + 1);
    start = end + 1;
  }
  return { ranks, tieSizes };
}

/**
 * ways[s] = the number of n-element subsets of `ranks` whose sum is s: a knapsack over the
 * observations, counting subsets by size and sum.
 */
function subsetSumCounts(ranks: readonly number[], n: number): Float64Array {
  const maxSum = ranks.reduce((a, b) => a + b, 0);
  // table[j] holds, for subsets of size j, the count per sum.
  const table = Array.from({ length: n + 1 }, () => new Float64Array(maxSum + 1));
  table[0]![0] = 1;
  for (const r of ranks) {
    for (let j = n; j >= 1; j--) {
      const into = table[j]!;
      const from = table[j - 1]!;
      for (let s = maxSum; s >= r; s--) into[s]! += from[s - r]!;
    }
  }
  return table[n]!;
}

function normalCdf(z: number): number {
  // Abramowitz–Stegun 7.1.26 on erf; |error| < 1.5e-7, plenty for a p-value.
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly =
    t *
    (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

export function mannWhitney(x: readonly number[], y: readonly number[]): MannWhitneyResult {
  const n = x.length;
  const m = y.length;
  if (n === 0 || m === 0) return { u: Number.NaN, p: 1, exact: true };
  const N = n + m;
  const { ranks, tieSizes } = doubledMidRanks([...x, ...y]);
  const r2 = ranks.slice(0, n).reduce((a, b) => a + b, 0);
  const u = r2 / 2 - (n * (n + 1)) / 2;

  if (N <= EXACT_LIMIT) {
    const ways = subsetSumCounts(ranks, n);
    const total = choose(N, n);
    let atMost = 0;
    let atLeast = 0;
    for (let s = 0; s < ways.length; s++) {
      if (s <= r2) atMost += ways[s]!;
      if (s >= r2) atLeast += ways[s]!;
    }
    return { u, p: Math.min(1, (2 * Math.min(atMost, atLeast)) / total), exact: true };
  }

  const tieTerm = tieSizes.reduce((sum, t) => sum + t ** 3 - t, 0);
  const variance = ((n * m) / 12) * (N + 1 - tieTerm / (N * (N - 1)));
  if (variance <= 0) return { u, p: 1, exact: false };
  const centred = u - (n * m) / 2;
  const corrected = Math.max(0, Math.abs(centred) - 0.5);
  const z = corrected / Math.sqrt(variance);
  return { u, p: Math.min(1, 2 * (1 - normalCdf(z))), exact: false };
}

/**
 * The smallest p-value samples of these sizes can produce (all of one below all of the
 * other, no ties): 2 / C(n+m, n). When it exceeds α no outcome can be significant.
 */
export function smallestPValue(n: number, m: number): number {
  if (n === 0 || m === 0) return 1;
  return Math.min(1, 2 / choose(n + m, n));
}

/** The fewest runs per side (equal sides) at which a difference can be significant at α. */
export function minRunsForSignificance(alpha: number): number {
  let k = 1;
  while (smallestPValue(k, k) > alpha) k++;
  return k;
}
