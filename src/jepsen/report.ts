// What a run found: operations by outcome, the checker's verdict, the share of time writes
// succeeded, and how long writes took to succeed again after each fault.
import type { CheckResult } from "../check/check.js";
import type { Fault } from "./nemesis.js";
import type { Recorded } from "./recorder.js";

export interface RunReport {
  operations: number;
  ok: number;
  fail: number;
  indeterminate: number;
  verdict: CheckResult["verdict"];
  anomalies: number;
  /** Share of one-second slices of the run in which at least one write completed ok. */
  writeAvailability: number;
  /** Per fault: microseconds from its start until a write invoked after it completed ok (null: never). */
  recoveries: { kind: Fault["kind"]; node: number; recoveryUs: number | null }[];
}

const WRITES = new Set(["set", "del", "incr", "push", "pop"]);

export function buildReport(
  records: readonly Recorded[],
  faults: readonly Fault[],
  check: CheckResult,
): RunReport {
  const writes = records.filter((r) => WRITES.has(r.input.f) && r.status === "ok");
  const first = records[0]?.invoke ?? 0;
  let last = first;
  for (const r of records) last = Math.max(last, r.complete ?? r.invoke);
  const slices = Math.max(1, Math.ceil((last - first) / 1e6));
  const good = new Set(writes.map((w) => Math.floor(((w.complete as number) - first) / 1e6)));
  const recoveries = faults.map((f) => {
    let best: number | null = null;
    for (const w of writes)
      if (w.invoke >= f.start && (best === null || (w.complete as number) < best))
        best = w.complete as number;
    return { kind: f.kind, node: f.node, recoveryUs: best === null ? null : best - f.start };
  });
  return {
    operations: records.length,
    ok: check.counts.ok,
    fail: check.counts.fail,
    indeterminate: check.counts.info,
    verdict: check.verdict,
    anomalies: check.violations.length,
    writeAvailability: Math.min(1, good.size / slices),
    recoveries,
  };
}

export function formatReport(report: RunReport): string[] {
  const rec = report.recoveries.map((r) =>
    r.recoveryUs === null
      ? `${r.kind} n${r.node + 1}: not before the run ended`
      : `${r.kind} n${r.node + 1}: ${(r.recoveryUs / 1000).toFixed(0)} ms`,
  );
  return [
    `operations ${report.operations}: ${report.ok} ok, ${report.fail} failed, ${report.indeterminate} indeterminate`,
    `checker: ${report.verdict}, ${report.anomalies} key(s) with anomalies`,
    `writes succeeded in ${(report.writeAvailability * 100).toFixed(1)} % of the run's seconds`,
    `recovery (fault start → first write invoked after it ok): ${rec.length === 0 ? "no faults" : rec.join(", ")}`,
  ];
}
