// The end of a `make bench` session: a table of every case (medians over its runs), where
// the JSON, the log and the HTML report are. It goes to stderr, like the progress line: stdout
// carries result lines only, so that it can be fed to tools reading Go benchmark output.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { CaseSummary } from "../bench/results.js";

/** The columns of the summary table, each a header and how a summary fills it. */
const COLUMNS: ReadonlyArray<[string, (s: CaseSummary) => string]> = [
  ["benchmark", (s) => s.name],
  ["runs", (s) => String(s.runs)],
  ["ns/op", (s) => grouped(s.nsPerOp)],
  ["p50 ns", (s) => grouped(s.p50Ns)],
  ["p99 ns", (s) => grouped(s.p99Ns)],
  ["floor ns", (s) => (s.floorNs === null ? "-" : grouped(s.floorNs))],
  ["x-floor", (s) => (s.xFloor === null ? "-" : s.xFloor.toFixed(2))],
  ["dropped", (s) => (s.dropped > 0 ? grouped(s.dropped) : "")],
];

function grouped(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** A plain-text table: the name left-aligned, every figure right-aligned. */
export function formatSummaryTable(summaries: readonly CaseSummary[]): string {
  const header = COLUMNS.map(([h]) => h);
  const rows = [header, ...summaries.map((s) => COLUMNS.map(([, f]) => f(s)))];
  const widths = COLUMNS.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
      .join("  ")
      .trimEnd();
  return [
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...rows.slice(1).map(line),
  ].join("\n");
}

export interface SessionFiles {
  jsonPath: string;
  logPath: string;
  say: (text: string) => void;
  /** Where the HTML report goes; default report.html beside the JSON. */
  reportPath?: string;
}

/** Prints the table and the paths; writes the HTML report from the session's JSON. */
export async function summarizeSession(files: SessionFiles): Promise<void> {
  const { jsonPath, logPath, say } = files;
  let summaries: CaseSummary[] = [];
  try {
    const report = JSON.parse(await readFile(jsonPath, "utf8")) as { summaries?: CaseSummary[] };
    summaries = report.summaries ?? [];
  } catch {
    say(`\nno results were written (the log: ${logPath})\n`);
    return;
  }
  if (summaries.length > 0) say(`\n${formatSummaryTable(summaries)}\n\n`);
  say(`results: ${jsonPath}\nlog:     ${logPath}\n`);
  const reportPath = files.reportPath ?? join(dirname(jsonPath), "report.html");
  try {
    // Loaded only now: the report's renderer is large and the benchmark never needs it.
    const { writeReport } = await import("../report/index.js");
    await writeReport([jsonPath], reportPath);
    say(`report:  ${reportPath}\n`);
  } catch (err) {
    say(`report:  not written (${err instanceof Error ? err.message : String(err)})\n`);
  }
}
