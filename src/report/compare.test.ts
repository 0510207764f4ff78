import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fixtureReport } from "../testing/report-fixture.js";
import { compareSamples, type Samples, samplesFromText } from "./compare.js";
import { compareMain } from "./compare-cli.js";
import { formatComparison, formatSpread, formatValue } from "./compare-format.js";
import {
  EXACT_LIMIT,
  mannWhitney,
  minRunsForSignificance,
  smallestPValue,
} from "./mann-whitney.js";
import { binomialHalfCdf, choose, medianCI, minSamplesForCI, quantile } from "./stats.js";

const close = (actual: number, expected: number, eps = 1e-9) =>
  assert.ok(Math.abs(actual - expected) <= eps, `${actual} should be ${expected} (±${eps})`);

describe("order statistics", () => {
  test("binomial(n, 1/2) tail and n choose k", () => {
    // P(B ≤ 1) for n = 10: (C(10,0) + C(10,1)) / 2^10 = 11 / 1024.
    close(binomialHalfCdf(10, 1), 11 / 1024);
    close(binomialHalfCdf(10, -1), 0);
    close(binomialHalfCdf(10, 10), 1);
    assert.equal(choose(8, 4), 70);
    assert.equal(choose(6, 3), 20);
  });

  test("95 % median interval for n = 6 is [min, max] with coverage 1 − 2/64", () => {
    // Sorted: 10 11 12 13 14 15. k = 1: 1 − 2·P(B ≤ 0) = 1 − 2/64 = 0.96875 ≥ 0.95.
    // k = 2: 1 − 2·P(B ≤ 1) = 1 − 2·7/64 = 0.78125 < 0.95, so k = 1.
    const ci = medianCI([12, 10, 15, 11, 14, 13]);
    assert.deepEqual([ci.lo, ci.hi, ci.reached], [10, 15, true]);
    close(ci.confidence, 0.96875);
  });

  test("for n = 10 the interval drops one run at each end: [x(2), x(9)]", () => {
    // k = 2: 1 − 2·P(B ≤ 1) = 1 − 22/1024 = 0.978515625 ≥ 0.95;
    // k = 3: 1 − 2·P(B ≤ 2) = 1 − 2·56/1024 = 0.890625 < 0.95.
    const ci = medianCI([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual([ci.lo, ci.hi, ci.reached], [2, 9, true]);
    close(ci.confidence, 0.978515625);
  });

  test("five runs or fewer cannot reach 95 %: the range, marked not reached", () => {
    // n = 5: [min, max] covers 1 − 2/32 = 0.9375 < 0.95.
    const ci = medianCI([3, 1, 2, 5, 4]);
    assert.deepEqual([ci.lo, ci.hi, ci.reached], [1, 5, false]);
    close(ci.confidence, 0.9375);
    assert.equal(minSamplesForCI(0.95), 6);
    assert.equal(medianCI([]).reached, false);
  });

  test("quantiles interpolate between order statistics", () => {
    assert.equal(quantile([5, 1, 4, 2, 3], 0.25), 2);
    assert.equal(quantile([1, 2, 3, 4], 0.5), 2.5);
  });
});

describe("Mann–Whitney U", () => {
  test("fully separated samples of 4: the smallest p, 2/C(8,4)", () => {
    // Old ranks 1..4 sum to 10, the least possible; of the C(8,4) = 70 equally likely
    // subsets only {1,2,3,4} sums to ≤ 10, so P(R ≤ 10) = 1/70 and p = 2/70 ≈ 0.02857.
    const r = mannWhitney([1, 2, 3, 4], [5, 6, 7, 8]);
    assert.equal(r.u, 0);
    assert.equal(r.exact, true);
    close(r.p, 2 / 70);
    close(mannWhitney([5, 6, 7, 8], [1, 2, 3, 4]).p, 2 / 70);
  });

  test("overlapping samples of 3, no ties", () => {
    // Pooled 1 2 3 4 5 6, old = {1, 2, 4}: R = 7, U = 7 − 3·4/2 = 1. Of the C(6,3) = 20
    // subsets, sums ≤ 7 are {1,2,3} = 6 and {1,2,4} = 7: P(R ≤ 7) = 2/20, p = 2·0.1 = 0.2.
    const r = mannWhitney([1, 2, 4], [3, 5, 6]);
    assert.equal(r.u, 1);
    close(r.p, 0.2);
  });

  test("ties take mid-ranks and the exact distribution of mid-rank sums", () => {
    // Pooled sorted: 1(old) 2(old) 2(old) 2(new) 3(new) 4(new); the three 2s share rank
    // (2+3+4)/3 = 3, so the mid-ranks are {1, 3, 3, 3, 5, 6} and old's sum is R = 1+3+3 = 7,
    // U = 7 − 6 = 1. Counting the 20 subsets of three by how many 3s they take:
    //   three 3s: 9 (×1); two 3s (3 ways) with 1, 5 or 6: 7, 11, 12 (×3 each);
    //   one 3 (3 ways) with {1,5}, {1,6}, {5,6}: 9, 10, 14 (×3 each); no 3: {1,5,6} = 12 (×1).
    // Sums ≤ 7: only 7 (×3), so P(R ≤ 7) = 3/20; P(R ≥ 7) = 1; p = 2·3/20 = 0.3.
    const r = mannWhitney([1, 2, 2], [2, 3, 4]);
    assert.equal(r.u, 1);
    assert.equal(r.exact, true);
    close(r.p, 0.3);
  });

  test("identical samples, and samples of one repeated value, give p = 1", () => {
    close(mannWhitney([1, 2, 3, 4], [1, 2, 3, 4]).p, 1);
    close(mannWhitney([7, 7, 7, 7], [7, 7, 7, 7]).p, 1);
  });

  test("an empty side gives no evidence: p = 1", () => {
    assert.equal(mannWhitney([], [1, 2, 3]).p, 1);
    assert.ok(Number.isNaN(mannWhitney([1], []).u));
  });

  test("large samples: the normal approximation agrees with the exact test near the limit", () => {
    // Just under the limit the exact test runs; the same data scaled up past it uses the
    // approximation. Shifted samples of 30 vs 31 should give close p-values either way.
    const a = Array.from({ length: 30 }, (_, i) => i);
    const b = Array.from({ length: 30 }, (_, i) => i + 8);
    const exact = mannWhitney(a, b);
    assert.equal(exact.exact, true);
    const big = mannWhitney([...a, 100.5], [...b, 200.5]);
    assert.equal(big.exact, false);
    assert.ok(a.length * 2 <= EXACT_LIMIT);
    assert.ok(Math.abs(exact.p - big.p) < 0.02, `${exact.p} vs ${big.p}`);
  });

  test("too few runs: 3 per side can never reach α = 0.05, 4 can", () => {
    // n = m = 3: 2/C(6,3) = 0.1 > 0.05; n = m = 4: 2/70 ≈ 0.029 ≤ 0.05.
    close(smallestPValue(3, 3), 0.1);
    close(smallestPValue(4, 4), 2 / 70);
    assert.equal(minRunsForSignificance(0.05), 4);
  });
});

function samples(entries: Record<string, Record<string, number[]>>): Samples {
  return new Map(
    Object.entries(entries).map(([name, byField]) => [name, new Map(Object.entries(byField))]),
  );
}

describe("compareSamples", () => {
  test("a significant change reports the change of the medians", () => {
    // Medians: old 102.5 (of 100 101 104 105), new 82.5 (of 80 81 84 85); new/old − 1 =
    // 82.5/102.5 − 1 = −0.19512…; fully separated, so p = 2/70.
    const c = compareSamples(
      samples({ a: { nsPerOp: [100, 101, 104, 105] } }),
      samples({ a: { nsPerOp: [80, 81, 84, 85] } }),
    );
    const row = c.metrics[0]!.rows[0]!;
    assert.equal(c.metrics[0]!.unit, "ns/op");
    close(row.old!.median, 102.5);
    close(row.new!.median, 82.5);
    close(row.p!, 2 / 70);
    close(row.delta!, 82.5 / 102.5 - 1);
    assert.deepEqual(row.notes, ["ci"]);
  });

  test("identical samples: no change (~), p = 1", () => {
    const c = compareSamples(
      samples({ a: { nsPerOp: [5, 6, 7, 8, 9, 10] } }),
      samples({ a: { nsPerOp: [5, 6, 7, 8, 9, 10] } }),
    );
    const row = c.metrics[0]!.rows[0]!;
    close(row.p!, 1);
    assert.equal(row.delta, null);
    assert.deepEqual(row.notes, []);
  });

  test("one side empty: the row says which side is missing, no test", () => {
    const c = compareSamples(samples({ a: { nsPerOp: [1, 2, 3, 4] } }), new Map());
    const row = c.metrics[0]!.rows[0]!;
    assert.equal(row.new, null);
    assert.equal(row.p, null);
    assert.ok(row.notes.includes("missing-new"));
    assert.equal(c.metrics[0]!.geomean, null);
  });

  test("geomean over the benchmarks both sides have", () => {
    // Old medians 100 and 400 (geomean 200), new 50 and 200 (geomean 100): delta −50 %.
    const c = compareSamples(
      samples({ a: { nsPerOp: [100, 100, 100, 100] }, b: { nsPerOp: [400, 400, 400, 400] } }),
      samples({
        a: { nsPerOp: [50, 50, 50, 50] },
        b: { nsPerOp: [200, 200, 200, 200] },
        c: { nsPerOp: [1, 1, 1, 1] },
      }),
    );
    const g = c.metrics[0]!.geomean!;
    close(g.old, 200);
    close(g.new, 100);
    close(g.delta, -0.5);
  });
});

describe("rafttoy-compare output", () => {
  test("benchstat's table shape with footnotes for too few runs", () => {
    const c = compareSamples(
      samples({
        "conc=1/bytes=256": { nsPerOp: [100, 101, 104, 105] },
        "conc=4/bytes=256": { nsPerOp: [50, 51, 52] },
      }),
      samples({
        "conc=1/bytes=256": { nsPerOp: [80, 81, 84, 85] },
        "conc=4/bytes=256": { nsPerOp: [50, 51, 53] },
      }),
    );
    const lines = formatComparison(c).split("\n");
    assert.match(lines[0]!, /^name\s+old ns\/op\s+±\s+new ns\/op\s+±\s+delta$/);
    assert.match(
      lines[1]!,
      /^conc=1\/bytes=256\s+102\.5\s+∞ ¹\s+82\.5\s+∞ ¹\s+-19\.51% \(p=0\.029 n=4\+4\)$/,
    );
    assert.match(
      lines[2]!,
      /^conc=4\/bytes=256\s+51\s+∞ ¹\s+51\s+∞ ¹\s+~ \(p=\d\.\d{3} n=3\+3\) ²$/,
    );
    assert.match(lines[3]!, /^geomean\s+/);
    assert.equal(lines[4], "¹ need >= 6 runs for a confidence interval at level 0.95");
    assert.equal(lines[5], "² need >= 4 runs per side to detect a difference at alpha level 0.05");
  });

  test("values and spreads are printed as benchstat does", () => {
    assert.equal(formatValue(126787), "126.8k");
    assert.equal(formatValue(9949), "9.949k");
    assert.equal(formatValue(86.94), "86.94");
    assert.equal(formatValue(1_208_319), "1.208M");
    // Median 12.5 of 10..15: [10, 15] reaches half-width 2.5 → 20 %.
    const c = compareSamples(samples({ a: { nsPerOp: [10, 11, 12, 13, 14, 15] } }), new Map());
    assert.equal(formatSpread(c.metrics[0]!.rows[0]!.old!), "20%");
  });

  test("result files: reads runs by name, --json, and one-line errors for bad input", async () => {
    const oldText = JSON.stringify(fixtureReport({ count: 4 }));
    const s = samplesFromText("old.json", oldText);
    assert.equal(s.get("conc=16/bytes=256")!.get("nsPerOp")!.length, 4);
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (l: string) => out.push(l), err: (l: string) => err.push(l) };
    assert.equal(await compareMain(["only-one.json"], io), 2);
    assert.equal(await compareMain(["--bogus", "a", "b"], io), 2);
    assert.equal(await compareMain(["/nonexistent/a.json", "/nonexistent/b.json"], io), 2);
    assert.equal(err.length, 3);
    assert.ok(err.every((l) => l.startsWith("rafttoy-compare: ") && !l.includes("\n")));
  });
});
