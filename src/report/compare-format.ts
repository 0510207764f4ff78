// rafttoy-compare's text output, in benchstat's table shape: per metric a header
// `name  old <unit>  ±  new <unit>  ±  delta`, a row per benchmark, a geomean row, and
// numbered footnotes for the rows that need one.
import type {
  Comparison,
  ComparisonRow,
  MetricComparison,
  RowNote,
  SideSummary,
} from "./compare.js";

/** Four significant digits with an SI suffix: 126.8k, 9.949k, 86.94, 1.209M. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return "NaN";
  const abs = Math.abs(v);
  const [scaled, suffix] =
    abs >= 1e9
      ? [v / 1e9, "G"]
      : abs >= 1e6
        ? [v / 1e6, "M"]
        : abs >= 1e3
          ? [v / 1e3, "k"]
          : [v, ""];
  return `${Number(scaled.toPrecision(4))}${suffix}`;
}

/** The half-width of the interval around the median, as a percentage: "2%", "0.5%". */
export function formatSpread(s: SideSummary): string {
  if (s.median === 0) return "0%";
  const half = Math.max(s.ci.hi - s.median, s.median - s.ci.lo) / Math.abs(s.median);
  const pct = half * 100;
  return `${pct >= 10 || pct === 0 ? pct.toFixed(0) : pct.toPrecision(1)}%`;
}

export function formatDelta(d: number): string {
  const pct = d * 100;
  return `${pct >= 0 ? "+" : ""}${pct.toFixed(2)}%`;
}

const SUPERSCRIPTS = ["¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"];

class Footnotes {
  private readonly texts: string[] = [];
  mark(text: string): string {
    let i = this.texts.indexOf(text);
    if (i < 0) {
      this.texts.push(text);
      i = this.texts.length - 1;
    }
    return SUPERSCRIPTS[i] ?? `(${i + 1})`;
  }
  lines(): string[] {
    return this.texts.map((t, i) => `${SUPERSCRIPTS[i] ?? `(${i + 1})`} ${t}`);
  }
}

function noteText(note: RowNote, c: Comparison): string {
  switch (note) {
    case "ci":
      return `need >= ${c.minRunsForCI} runs for a confidence interval at level ${c.confidence}`;
    case "significance":
      return `need >= ${c.minRunsForSignificance} runs per side to detect a difference at alpha level ${c.alpha}`;
    case "missing-old":
      return "missing from the old file";
    case "missing-new":
      return "missing from the new file";
  }
}

function rowCells(row: ComparisonRow, c: Comparison, notes: Footnotes): string[] {
  const side = (s: SideSummary | null): [string, string] => {
    if (s === null) return ["–", ""];
    return [
      formatValue(s.median),
      s.ci.reached ? formatSpread(s) : `∞ ${notes.mark(noteText("ci", c))}`,
    ];
  };
  const [oldValue, oldSpread] = side(row.old);
  const [newValue, newSpread] = side(row.new);
  let delta: string;
  if (row.old === null || row.new === null) {
    delta = notes.mark(noteText(row.old === null ? "missing-old" : "missing-new", c));
  } else {
    const verdict = row.delta === null ? "~" : formatDelta(row.delta);
    const tooFew = row.notes.includes("significance")
      ? ` ${notes.mark(noteText("significance", c))}`
      : "";
    delta = `${verdict} (p=${row.p!.toFixed(3)} n=${row.old.n}+${row.new.n})${tooFew}`;
  }
  return [row.name, oldValue, oldSpread, newValue, newSpread, delta];
}

/** Pads columns to a common width, two spaces apart; the last column is left ragged. */
function alignRows(rows: readonly string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows)
    r.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  return rows.map((r) =>
    r
      .map((cell, i) =>
        i === r.length - 1 ? cell : cell + " ".repeat(widths[i]! - [...cell].length),
      )
      .join("  ")
      .trimEnd(),
  );
}

export function formatMetricTable(m: MetricComparison, c: Comparison): string[] {
  const notes = new Footnotes();
  const rows: string[][] = [["name", `old ${m.unit}`, "±", `new ${m.unit}`, "±", "delta"]];
  for (const row of m.rows) rows.push(rowCells(row, c, notes));
  if (m.geomean !== null) {
    rows.push([
      "geomean",
      formatValue(m.geomean.old),
      "",
      formatValue(m.geomean.new),
      "",
      formatDelta(m.geomean.delta),
    ]);
  }
  return [...alignRows(rows), ...notes.lines()];
}

/** Every metric's table, separated by blank lines. */
export function formatComparison(c: Comparison): string {
  return c.metrics.map((m) => formatMetricTable(m, c).join("\n")).join("\n\n");
}
