// rafttoy-compare's command line.
import { type CommandSpec, flag, runCommand } from "../command/command.js";
import { compareSamples, readSamples } from "./compare.js";
import { formatComparison } from "./compare-format.js";
import { InputError } from "./input.js";
import { type CliIo, linesIo } from "./report-cli.js";

const COMPARE: CommandSpec<{ oldPath: string; newPath: string; json: boolean }> = {
  name: "rafttoy-compare",
  usage: `$0 OLD.json NEW.json [--json]

Compares two rafttoy benchmark result files the way benchstat does: for each benchmark and
metric (ns/op, MB/s, p50-ns, p99-ns, cpu-us/op, x-floor) the median of each side's runs with a 95 %
confidence interval from order statistics, the Mann–Whitney U test between the sides, and
the change of the medians, or "~" when the difference is not significant (p > 0.05). A
footnote marks sides with too few runs: 6 for a 95 % interval (shown as ∞), 4 per side for
any difference to be significant. Run each side with --count 6 or more.`,
  flags: (y) =>
    y.option("json", {
      type: "boolean",
      describe: "the comparison as JSON (medians, intervals, U, p, delta per benchmark)",
    }),
  words: { min: 2, max: 2, what: "result files (old, new)" },
  read: (raw, words) => ({ oldPath: words[0]!, newPath: words[1]!, json: flag(raw, "json") }),
};

export function compareMain(argv: readonly string[], io: CliIo): Promise<number> {
  return runCommand(COMPARE, argv, (opts) => compare(opts, io), linesIo(io));
}

async function compare(
  opts: { oldPath: string; newPath: string; json: boolean },
  io: CliIo,
): Promise<number> {
  const { oldPath, newPath } = opts;
  try {
    const comparison = compareSamples(await readSamples(oldPath), await readSamples(newPath));
    if (opts.json) io.out(JSON.stringify({ old: oldPath, new: newPath, ...comparison }, null, 2));
    else if (comparison.metrics.length === 0)
      io.out("rafttoy-compare: neither file has a run with figures");
    else io.out(formatComparison(comparison));
    return 0;
  } catch (err) {
    io.err(`rafttoy-compare: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof InputError ? 2 : 1;
  }
}
