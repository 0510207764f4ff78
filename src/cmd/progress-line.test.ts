import assert from "node:assert/strict";
import { test } from "node:test";
import { ProgressLine, wantsProgressLine } from "./progress-line.js";

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, columns: 40, write: (t: string) => writes.push(t) } };
}

test("a progress line only on a terminal, and never under CI", () => {
  assert.equal(wantsProgressLine({ isTTY: true, write() {} }, {}), true);
  assert.equal(wantsProgressLine({ isTTY: false, write() {} }, {}), false);
  assert.equal(wantsProgressLine({ write() {} }, {}), false);
  assert.equal(wantsProgressLine({ isTTY: true, write() {} }, { CI: "true" }), false);
  assert.equal(wantsProgressLine({ isTTY: true, write() {} }, { CI: "1" }), false);
});

test("redraws at most once per interval, in place, fitted to the width; clear erases", () => {
  let now = 0;
  const { writes, stream } = fakeStream(true);
  const line = new ProgressLine(stream, true, 100, () => now);
  line.update("one");
  now = 50;
  line.update("too soon");
  now = 100;
  line.update("x".repeat(60));
  assert.deepEqual(writes, ["\r\x1b[Kone", `\r\x1b[K${"x".repeat(38)}…`]);
  line.clear();
  assert.equal(writes.at(-1), "\r\x1b[K");
  // After a clear the line comes back at once, and a second clear writes nothing.
  now = 101;
  line.update("back");
  assert.equal(writes.at(-1), "\r\x1b[Kback");
  line.clear();
  const n = writes.length;
  line.clear();
  assert.equal(writes.length, n);
});

test("a disabled line writes nothing at all", () => {
  const { writes, stream } = fakeStream(false);
  const line = new ProgressLine(stream, false);
  line.update("anything");
  line.clear();
  assert.deepEqual(writes, []);
});
