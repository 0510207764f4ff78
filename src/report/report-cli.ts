// rafttoy-report's command line: parsing and the run itself, kept apart from the bin so a
// test can call it with its own output sinks.
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { InputError } from "./input.js";
import { writeReport } from "./report.js";

export const REPORT_HELP = `Usage: rafttoy-report RESULT.json... [-o OUT.html] [--png DIR]

Draws one self-contained HTML page (plots as inline SVG, nothing fetched) from rafttoy
benchmark result files (the JSON that rafttoy-leader --json and make bench write). Several
files merge into one report: one series per file, labelled by pipeline and by whatever
configuration differs between the files. Plots whose fields the files lack are skipped with
a note on the page.

  -o, --output OUT.html  where to write the page (default: report.html beside the first file)
  --png DIR              also write each plot as DIR/<plot>.png
  -h, --help             this text
`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface ReportArgs {
  files: string[];
  output: string;
  pngDir?: string;
}

/** Parsed arguments, or a one-line error for bad input. */
export function parseReportArgs(
  argv: readonly string[],
): ReportArgs | { help: true } | { error: string } {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  const [firstFile] = positionals;
  if (firstFile === undefined) {
    return { error: "no result files given (rafttoy-report results/*.json)" };
  }
  if (values.output === "") return { error: "-o needs a file name" };
  if (values.png === "") return { error: "--png needs a directory" };
  const output = values.output ?? join(dirname(firstFile), "report.html");
  return {
    files: positionals,
    output,
    ...(values.png === undefined ? {} : { pngDir: values.png }),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      output: { type: "string", short: "o" },
      png: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

/** Runs the CLI; returns the exit code (2 for bad input, 1 for a failure while drawing). */
export async function reportMain(argv: readonly string[], io: CliIo): Promise<number> {
  const args = parseReportArgs(argv);
  if ("help" in args) {
    io.out(REPORT_HELP.trimEnd());
    return 0;
  }
  if ("error" in args) {
    io.err(`rafttoy-report: ${args.error}`);
    return 2;
  }
  const started = performance.now();
  try {
    const summary = await writeReport(
      args.files,
      args.output,
      args.pngDir === undefined ? {} : { pngDir: args.pngDir },
    );
    const ms = performance.now() - started;
    io.out(
      `rafttoy-report: wrote ${summary.outPath} (${summary.plots.length} plots, ${summary.bytes} bytes, ${ms.toFixed(0)} ms)`,
    );
    for (const s of summary.skipped) io.out(`  skipped "${s.title}": ${s.reason}`);
    for (const w of summary.warnings) io.err(`rafttoy-report: warning: ${w}`);
    if (summary.pngPaths.length > 0) {
      io.out(`  ${summary.pngPaths.length} PNGs in ${args.pngDir}`);
    }
    return 0;
  } catch (err) {
    if (err instanceof InputError) {
      io.err(`rafttoy-report: ${err.message}`);
      return 2;
    }
    io.err(`rafttoy-report: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
