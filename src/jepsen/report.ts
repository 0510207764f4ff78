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
  recoveries: {
    kind: Fault["kind"];
    node: number;
    recoveryUs: number | null;
    /** Heal → every node caught up (Fault.caughtUpUs); absent in reports built before it. */
    caughtUpUs?: number | null;
  }[];
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
    return {
      kind: f.kind,
      node: f.node,
      recoveryUs: best === null ? null : best - f.start,
      caughtUpUs: f.caughtUpUs,
    };
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

function median(sorted: readonly number[]): number {
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median and largest of `values`; null where there is none, and max null if any is null. */
function spread(values: readonly (number | null)[]): { median: number | null; max: number | null } {
  const done = values.filter((us): us is number => us !== null).sort((a, b) => a - b);
  if (done.length === 0) return { median: null, max: null };
  return {
    median: median(done),
    max: done.length < values.length ? null : (done[done.length - 1] as number),
  };
}

export interface KindSummary {
  kind: Fault["kind"];
  faults: number;
  /** Fault start → first write invoked after it ok (null: one never recovered). */
  medianUs: number | null;
  maxUs: number | null;
  /** Heal → every node caught up (null: one never did, or none was measured). */
  caughtUpMedianUs: number | null;
  caughtUpMaxUs: number | null;
}

/** Per fault kind: how many, and the median and largest recovery and catch-up. */
export function recoveryByKind(report: RunReport): KindSummary[] {
  const kinds = [...new Set(report.recoveries.map((r) => r.kind))];
  return kinds.map((kind) => {
    const of = report.recoveries.filter((r) => r.kind === kind);
    const recovery = spread(of.map((r) => r.recoveryUs));
    const caughtUp = spread(of.map((r) => r.caughtUpUs ?? null));
    return {
      kind,
      faults: of.length,
      medianUs: recovery.median,
      maxUs: recovery.max,
      caughtUpMedianUs: caughtUp.median,
      caughtUpMaxUs: caughtUp.max,
    };
  });
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
    ...recoveryByKind(report).map((k) => {
      const ms = (us: number | null) => (us === null ? "never" : `${(us / 1000).toFixed(0)} ms`);
      return `  ${k.kind}: ${k.faults} fault(s), recovery median ${ms(k.medianUs)}, max ${ms(k.maxUs)}; all caught up after the heal: median ${ms(k.caughtUpMedianUs)}, max ${ms(k.caughtUpMaxUs)}`;
    }),
  ];
}
