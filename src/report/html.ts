// The report page: one HTML document with every plot's SVG inline and its own styles, so it
// opens from disk, mails as one attachment, and fetches nothing.
import { basename } from "node:path";
import type { ReportRun, ResultSet } from "./input.js";
import { median } from "./stats.js";

export interface RenderedPlot {
  id: string;
  title: string;
  caption: string;
  svg: string;
}

export interface PageSkip {
  id: string;
  title: string;
  reason: string;
}

export interface PageContent {
  sets: readonly ResultSet[];
  /** Plots and skipped plots in page order. */
  sections: ReadonlyArray<{ plot: RenderedPlot } | { skipped: PageSkip }>;
  notes: readonly string[];
  generatedAt: string;
}

export function escapeHtml(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

const STYLE = `
body { font-family: sans-serif; margin: 2rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.meta, figcaption, .note { color: #555; font-size: .9rem; }
figure { margin: 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
.skipped .note { font-style: italic; }
nav ul { columns: 2; font-size: .9rem; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f4f4f4; }
`;

function fmt(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  if (Math.abs(v) >= 10 ** digits) return Math.round(v).toLocaleString("en-US");
  return Number(v.toPrecision(digits)).toLocaleString("en-US", { maximumFractionDigits: 3 });
}

function cell(text: string, numeric = false): string {
  return `<td${numeric ? ' class="num"' : ""}>${escapeHtml(text)}</td>`;
}

function medianOf(
  runs: readonly ReportRun[],
  pick: (r: ReportRun) => number | null,
): number | null {
  const values = runs.map(pick).filter((v): v is number => v !== null);
  return values.length === 0 ? null : median(values);
}

/** One row per series and case: the medians the plots draw, as numbers to copy. */
function resultsTable(sets: readonly ResultSet[]): string {
  const rows: string[] = [];
  for (const set of sets) {
    const byName = new Map<string, ReportRun[]>();
    for (const r of set.runs) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
    for (const [name, runs] of byName) {
      const ns = runs.map((r) => r.nsPerOp);
      rows.push(
        `<tr>${[
          cell(set.series),
          cell(name),
          cell(String(runs.length), true),
          cell(fmt(medianOf(runs, (r) => r.nsPerOp)), true),
          cell(`${fmt(Math.min(...ns))} – ${fmt(Math.max(...ns))}`, true),
          cell(fmt(medianOf(runs, (r) => r.throughput)), true),
          cell(fmt(medianOf(runs, (r) => r.p50Ns)), true),
          cell(fmt(medianOf(runs, (r) => r.p99Ns)), true),
          cell(fmt(medianOf(runs, (r) => r.cpuUsPerOp)), true),
          cell(fmt(medianOf(runs, (r) => r.floorNs)), true),
          cell(
            fmt(
              medianOf(runs, (r) => r.xFloor),
              3,
            ),
            true,
          ),
        ].join("")}</tr>`,
      );
    }
  }
  const head = [
    "series",
    "case",
    "runs",
    "ns/op",
    "ns/op min – max",
    "proposals/s",
    "p50 ns",
    "p99 ns",
    "CPU µs/op",
    "floor ns",
    "× floor",
  ]
    .map((h) => `<th>${escapeHtml(h)}</th>`)
    .join("");
  return `<table id="results-table"><thead><tr>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function valueText(v: unknown): string {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

/** Configuration and environment, one column per file, one row per key any file has. */
function configTable(sets: readonly ResultSet[]): string {
  const sections: Array<[string, (s: ResultSet) => Record<string, unknown>]> = [
    [
      "",
      (s) => ({
        file: s.path,
        series: s.series,
        startedAt: s.startedAt,
        walSyncMode: s.walSyncMode,
      }),
    ],
    ["bench", (s) => s.bench],
    ["config", (s) => s.config],
    ["environment", (s) => s.environment],
  ];
  const rows: string[] = [];
  for (const [prefix, pick] of sections) {
    const keys = [...new Set(sets.flatMap((s) => Object.keys(pick(s))))];
    for (const key of keys) {
      const label = prefix === "" ? key : `${prefix}.${key}`;
      rows.push(
        `<tr><th>${escapeHtml(label)}</th>${sets.map((s) => cell(valueText(pick(s)[key]))).join("")}</tr>`,
      );
    }
  }
  const head = sets.map((s) => `<th>${escapeHtml(basename(s.path))}</th>`).join("");
  return `<table id="config-table"><thead><tr><th></th>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The SVG as vega writes it, marked so tools (and the browser test) can find the plots. */
function inlineSvg(plot: RenderedPlot): string {
  return plot.svg.replace(/^<svg /, `<svg role="img" aria-label="${escapeHtml(plot.title)}" `);
}

export function renderPage(content: PageContent): string {
  const { sets } = content;
  const files = sets.map((s) => escapeHtml(basename(s.path))).join(", ");
  const nav = content.sections
    .map((s) => {
      const { id, title } = "plot" in s ? s.plot : s.skipped;
      return `<li><a href="#${escapeHtml(id)}">${escapeHtml(title)}</a>${"plot" in s ? "" : " (skipped)"}</li>`;
    })
    .join("");
  const body = content.sections
    .map((s) => {
      if ("plot" in s) {
        const p = s.plot;
        return `<section class="plot" id="${escapeHtml(p.id)}" data-plot="${escapeHtml(p.id)}"><h2>${escapeHtml(p.title)}</h2><figure>${inlineSvg(p)}<figcaption>${escapeHtml(p.caption)}</figcaption></figure></section>`;
      }
      const k = s.skipped;
      return `<section class="skipped" id="${escapeHtml(k.id)}" data-skipped="${escapeHtml(k.id)}"><h2>${escapeHtml(k.title)}</h2><p class="note">Skipped: ${escapeHtml(k.reason)}.</p></section>`;
    })
    .join("\n");
  const notes = content.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join("");
  const runs = sets.reduce((n, s) => n + s.runs.length, 0);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rafttoy benchmark report</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>rafttoy benchmark report</h1>
<p class="meta">${runs} runs from ${sets.length} file${sets.length === 1 ? "" : "s"} (${files}); generated ${escapeHtml(content.generatedAt)}.</p>
</header>
<nav><ul>${nav}<li><a href="#results">Results table</a></li><li><a href="#configuration">Configuration and environment</a></li></ul></nav>
${body}
${notes === "" ? "" : `<section id="notes"><h2>Notes</h2>${notes}</section>`}
<section id="results"><h2>Results</h2><p class="note">Medians over the runs of each case.</p>${resultsTable(sets)}</section>
<section id="configuration"><h2>Configuration and environment</h2>${configTable(sets)}</section>
</body>
</html>
`;
}
