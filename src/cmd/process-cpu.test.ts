import assert from "node:assert/strict";
import { test } from "node:test";
import { processCpuSeconds } from "./process-cpu.js";

test("a process's CPU seconds grow by the CPU it burns, and an absent process has none", () => {
  const before = processCpuSeconds(process.pid);
  if (before === undefined) return; // not Linux: nothing to read
  // Spin for 200 ms of CPU (not of wall time: other work may share the cores).
  const start = process.cpuUsage();
  for (;;) {
    const used = process.cpuUsage(start);
    if (used.user + used.system >= 200_000) break;
  }
  const after = processCpuSeconds(process.pid) as number;
  // /proc counts in 10 ms ticks.
  assert.ok(after - before >= 0.18, `${before} -> ${after}`);
  assert.equal(processCpuSeconds(2 ** 30), undefined);
});
