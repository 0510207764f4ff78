// Sample statistics shared by the report (error bars) and the comparison (benchstat's method).

function sorted(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** The median: the middle value, or the mean of the two middle ones. NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * The q-quantile (0 ≤ q ≤ 1) by linear interpolation between order statistics (the usual
 * "type 7" definition: q=0.25 of [1,2,3,4,5] is 2). NaN for no values.
 */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = sorted(values);
  const h = (s.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!);
}

/** The geometric mean of positive values; NaN when there are none or one is not positive. */
export function geomean(values: readonly number[]): number {
  if (values.length === 0 || values.some((v) => !(v > 0))) return Number.NaN;
  return Math.exp(values.reduce((sum, v) => sum + Math.log(v), 0) / values.length);
}

/** ln(n choose k), exact enough for the sample sizes a benchmark has. */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/** n choose k as a float (exact below 2^53, which covers every n ≤ 55). */
export function choose(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  const kk = Math.min(k, n - k);
  let c = 1;
  for (let i = 1; i <= kk; i++) c = (c * (n - kk + i)) / i;
  return Math.round(c);
}

/** P(B ≤ k) for B ~ Binomial(n, 1/2). */
export function binomialHalfCdf(n: number, k: number): number {
  if (k < 0) return 0;
  if (k >= n) return 1;
  let p = 0;
  for (let i = 0; i <= k; i++) p += Math.exp(logChoose(n, i) - n * Math.LN2);
  return Math.min(1, p);
}

export interface MedianInterval {
  lo: number;
  hi: number;
  /** The interval's actual coverage of the true median, ≥ the level asked for when `exact`. */
  confidence: number;
  /** False when the sample is too small to reach the level: the interval is then the range. */
  reached: boolean;
}

/**
 * A distribution-free confidence interval for the median from order statistics: with the
 * sample sorted x(1) ≤ … ≤ x(n), [x(k), x(n+1-k)] covers the median with probability
 * 1 − 2·P(B ≤ k−1), B ~ Binomial(n, 1/2), because the number of observations below the
 * median is such a B. The narrowest interval (largest k) reaching `level` is returned. Six
 * runs are the fewest that reach 95 % (with five, [min, max] covers only 1 − 2/32 = 93.75 %).
 */
export function medianCI(values: readonly number[], level = 0.95): MedianInterval {
  const n = values.length;
  if (n === 0) return { lo: Number.NaN, hi: Number.NaN, confidence: 0, reached: false };
  const s = sorted(values);
  const coverage = (k: number) => 1 - 2 * binomialHalfCdf(n, k - 1);
  if (coverage(1) < level) {
    return { lo: s[0]!, hi: s[n - 1]!, confidence: coverage(1), reached: false };
  }
  let k = 1;
  while (k + 1 <= (n + 1) / 2 && coverage(k + 1) >= level) k++;
  return { lo: s[k - 1]!, hi: s[n - k]!, confidence: coverage(k), reached: true };
}

/** The fewest observations for which [min, max] covers the median at `level`. */
export function minSamplesForCI(level = 0.95): number {
  let n = 1;
  while (1 - 2 * binomialHalfCdf(n, 0) < level) n++;
  return n;
}
