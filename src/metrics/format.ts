import type { HistogramSnapshot, Metrics } from "./metrics.js";

/** A time in nanoseconds with the largest unit that keeps it at or above 1 (3 significant digits). */
export function formatNanos(ns: number): string {
  const abs = Math.abs(ns);
  if (abs < 1e3) return `${round(ns)}ns`;
  if (abs < 1e6) return `${round(ns / 1e3)}µs`;
  if (abs < 1e9) return `${round(ns / 1e6)}ms`;
  return `${round(ns / 1e9)}s`;
}

function round(v: number): string {
  if (Number.isInteger(v) || Math.abs(v) >= 100) return Math.round(v).toString();
  return Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(2);
}

const COLUMNS = ["histogram", "unit", "count", "mean", "p50", "p90", "p99", "max"] as const;

function row(h: HistogramSnapshot): string[] {
  const value = h.unit === "ns" ? formatNanos : round;
  const figures =
    h.count === 0 ? ["-", "-", "-", "-", "-"] : [h.mean, h.p50, h.p90, h.p99, h.max].map(value);
  return [h.name, h.unit === "ns" ? "time" : h.unit, h.count.toString(), ...figures];
}

/**
 * A text table of every histogram: name, unit, count, mean, p50, p90, p99, max. Times carry
 * their own unit (ns, µs, ms, s); sizes are plain numbers of the unit column's kind.
 */
export function formatMetrics(metrics: Metrics): string {
  if (!metrics.enabled) return "metrics: disabled\n";
  const rows = metrics.snapshot().map(row);
  if (rows.length === 0) return "metrics: nothing recorded\n";
  const table: string[][] = [[...COLUMNS], ...rows];
  const widths = COLUMNS.map((_, c) => Math.max(...table.map((r) => r[c]!.length)));
  // Names read best left-aligned, figures right-aligned so their digits line up.
  const lines = table.map((r) =>
    r.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  "),
  );
  return `${lines.map((l) => l.trimEnd()).join("\n")}\n`;
}
