// rafttoy-report's command line: parsing and the run itself, kept apart from the bin so a
// test can call it with its own output sinks.
import { dirname, join } from "node:path";
import { type CommandIo, type CommandSpec, runCommand, text } from "../command/command.js";
import { InputError } from "./input.js";
import { writeReport } from "./report.js";

const REPORT_DESCRIPTION = `Draws one self-contained HTML page (plots as inline SVG, nothing fetched) from rafttoy
benchmark result files (the JSON that rafttoy-leader --json and make bench write). Several
files merge into one report: one series per file, labelled by pipeline and by whatever
configuration differs between the files. Plots whose fields the files lack are skipped with
a note on the page.`;

export interface CliIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface ReportArgs {
  files: string[];
  output: string;
  pngDir?: string;
}

const REPORT: CommandSpec<ReportArgs> = {
  name: "rafttoy-report",
  usage: `$0 RESULT.json... [-o OUT.html] [--png DIR]\n\n${REPORT_DESCRIPTION}`,
  flags: (y) =>
    y
      .option("output", {
        alias: "o",
        type: "string",
        describe: "where to write the page (default: report.html beside the first file)",
      })
      .option("png", { type: "string", describe: "also write each plot as DIR/<plot>.png" }),
  words: {
    min: 1,
    max: Number.POSITIVE_INFINITY,
    what: "result files (rafttoy-report results/*.json)",
  },
  read: (raw, files) => {
    const png = text(raw, "png");
    return {
      files: [...files],
      output: text(raw, "output") ?? join(dirname(files[0]!), "report.html"),
      ...(png === undefined ? {} : { pngDir: png }),
    };
  },
};

/** Runs the CLI; returns the exit code (2 for bad input, 1 for a failure while drawing). */
export function reportMain(argv: readonly string[], io: CliIo): Promise<number> {
  return runCommand(REPORT, argv, (args) => report(args, io), linesIo(io));
}

/** The toolkit's output onto a line-based CliIo. */
export function linesIo(io: CliIo): CommandIo {
  return { stdout: (t) => io.out(t.trimEnd()), stderr: (t) => io.err(t.trimEnd()) };
}

async function report(args: ReportArgs, io: CliIo): Promise<number> {
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
