import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatGoBenchLine, formatMetricValue, withParallelism } from "./go-format.js";

/** The fields a Go benchmark parser splits a line into. */
function fields(line: string): string[] {
  return line.split(/\s+/).filter((f) => f !== "");
}

describe("Go-style benchmark lines", () => {
  test("name, iterations and metrics parse back", () => {
    const line = formatGoBenchLine("BenchmarkCore/batch=1024/bytes=256-2", 409600, [
      { value: 812.4, unit: "ns/op" },
      { value: 315.27, unit: "MB/s" },
    ]);
    assert.deepEqual(fields(line), [
      "BenchmarkCore/batch=1024/bytes=256-2",
      "409600",
      "812.4",
      "ns/op",
      "315.3",
      "MB/s",
    ]);
    assert.match(line, /^BenchmarkCore\S+\t +409600\t/);
  });

  test("fewer decimals for larger values, right-aligned", () => {
    assert.equal(formatMetricValue(6149.4).trim(), "6149");
    assert.equal(formatMetricValue(41.634).trim(), "41.63");
    assert.equal(formatMetricValue(1.23456).trim(), "1.235");
    assert.equal(formatMetricValue(0).trim(), "0");
    assert.ok(formatMetricValue(5).startsWith(" "));
  });

  test("the parallelism suffix", () => {
    assert.equal(withParallelism("BenchmarkX", 8), "BenchmarkX-8");
    assert.match(withParallelism("BenchmarkX"), /^BenchmarkX-\d+$/);
  });

  test("a bad iteration count is refused", () => {
    assert.throws(() => formatGoBenchLine("BenchmarkX", 1.5, []), RangeError);
    assert.throws(() => formatGoBenchLine("BenchmarkX", -1, []), RangeError);
  });
});
