import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { formatDuration, parseDuration } from "./duration.js";

describe("parseDuration", () => {
  const good: Array<[string, number]> = [
    ["0", 0],
    ["5ms", 5],
    ["2s", 2_000],
    ["1.5s", 1_500],
    [".5s", 500],
    ["250us", 0.25],
    ["250µs", 0.25],
    ["1000000ns", 1],
    ["1m30s", 90_000],
    ["1h", 3_600_000],
    [" 100ms ", 100],
  ];
  for (const [text, ms] of good) {
    test(`${JSON.stringify(text)} is ${ms} ms`, () => assert.equal(parseDuration(text), ms));
  }
  test('"-5ms" is refused as negative', () => {
    assert.throws(() => parseDuration("-5ms"), /"-5ms" is negative: a duration is 0 or more/);
  });
  for (const text of ["", "5", "ms", "5 ms", "5sec", "1e3ms", "5ms!", "s5"]) {
    test(`${JSON.stringify(text)} is refused with the expected form`, () => {
      assert.throws(() => parseDuration(text), /is not a duration: write a number with a unit/);
    });
  }
  test("formatDuration reads back as the same duration", () => {
    for (const ms of [0, 0.25, 5, 999, 1_000, 1_500, 90_000]) {
      assert.equal(parseDuration(formatDuration(ms)), ms, String(ms));
    }
  });
});
