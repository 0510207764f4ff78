// The report as a function: result files in, one HTML page (and optionally PNGs) out. The
// CLI (src/cmd/rafttoy-report.ts) and `make bench` both call writeReport.
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { allPlots, histogramGaps } from "./charts.js";
import { type PageContent, type RenderedPlot, renderPage } from "./html.js";
import { readResultSets } from "./input.js";
import { writePngs } from "./png.js";
import { renderSvg } from "./render.js";

export interface ReportOptions {
  /** Also write each plot as `<pngDir>/<plot id>.png`. */
  pngDir?: string;
}

export interface ReportSummary {
  outPath: string;
  /** Plots drawn, by id and title, in page order. */
  plots: Array<{ id: string; title: string }>;
  /** Plots left out for lack of data, with the reason shown on the page. */
  skipped: Array<{ id: string; title: string; reason: string }>;
  /** Size of the HTML page in bytes. */
  bytes: number;
  pngPaths: string[];
  /** Vega-Lite warnings while compiling the plots (none expected). */
  warnings: string[];
}

/** Builds the page's HTML from result files (no file is written). */
export async function buildReport(jsonPaths: readonly string[]): Promise<{
  html: string;
  rendered: RenderedPlot[];
  summary: Omit<ReportSummary, "outPath" | "bytes" | "pngPaths">;
}> {
  const sets = await readResultSets(jsonPaths);
  const sections: PageContent["sections"][number][] = [];
  const rendered: RenderedPlot[] = [];
  const warnings: string[] = [];
  for (const outcome of allPlots(sets)) {
    if ("skipped" in outcome) {
      sections.push(outcome);
      continue;
    }
    const { id, title, caption, spec } = outcome.plot;
    const svg = await renderSvg(spec);
    warnings.push(...svg.warnings.map((w) => `${id}: ${w}`));
    const plot = { id, title, caption, svg: svg.svg };
    rendered.push(plot);
    sections.push({ plot });
  }
  const html = renderPage({
    sets,
    sections,
    notes: histogramGaps(sets),
    generatedAt: new Date().toISOString(),
  });
  return {
    html,
    rendered,
    summary: {
      plots: rendered.map(({ id, title }) => ({ id, title })),
      skipped: sections.flatMap((s) => ("skipped" in s ? [s.skipped] : [])),
      warnings,
    },
  };
}

/**
 * Reads the result files, writes the report page to `outPath` (whole: a temporary file
 * renamed into place) and, with `pngDir`, one PNG per plot. Throws InputError (input.ts) for
 * a file that cannot be read or is not a benchmark result.
 */
export async function writeReport(
  jsonPaths: readonly string[],
  outPath: string,
  options: ReportOptions = {},
): Promise<ReportSummary> {
  if (jsonPaths.length === 0) throw new RangeError("writeReport needs at least one result file");
  const { html, rendered, summary } = await buildReport(jsonPaths);
  await mkdir(dirname(outPath), { recursive: true });
  const temporary = `${outPath}.${process.pid}.tmp`;
  await writeFile(temporary, html);
  await rename(temporary, outPath);
  const pngPaths = options.pngDir === undefined ? [] : await writePngs(options.pngDir, rendered);
  return { ...summary, outPath, bytes: Buffer.byteLength(html), pngPaths };
}
