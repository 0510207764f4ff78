// rafttoy-compare's command line.
import { parseArgs } from "node:util";
import { compareSamples, readSamples } from "./compare.js";
import { formatComparison } from "./compare-format.js";
import { InputError } from "./input.js";
import type { CliIo } from "./report-cli.js";

export const COMPARE_HELP = `Usage: rafttoy-compare OLD.json NEW.json [--json]

Compares two rafttoy benchmark result files the way benchstat does: for each benchmark and
metric (ns/op, MB/s, p50-ns, p99-ns, cpu-us/op, x-floor) the median of each side's runs with a 95 %
confidence interval from order statistics, the Mann–Whitney U test between the sides, and
the change of the medians, or "~" when the difference is not significant (p > 0.05). A
footnote marks sides with too few runs: 6 for a 95 % interval (shown as ∞), 4 per side for
any difference to be significant. Run each side with --count 6 or more.

  --json      the comparison as JSON (medians, intervals, U, p, delta per benchmark)
  -h, --help  this text
`;

export async function compareMain(argv: readonly string[], io: CliIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`rafttoy-compare: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(COMPARE_HELP.trimEnd());
    return 0;
  }
  if (parsed.positionals.length !== 2) {
    io.err(
      `rafttoy-compare: need exactly two result files (old, new), got ${parsed.positionals.length}`,
    );
    return 2;
  }
  const [oldPath, newPath] = parsed.positionals as [string, string];
  try {
    const comparison = compareSamples(await readSamples(oldPath), await readSamples(newPath));
    if (parsed.values.json)
      io.out(JSON.stringify({ old: oldPath, new: newPath, ...comparison }, null, 2));
    else if (comparison.metrics.length === 0)
      io.out("rafttoy-compare: neither file has a run with figures");
    else io.out(formatComparison(comparison));
    return 0;
  } catch (err) {
    io.err(`rafttoy-compare: ${err instanceof Error ? err.message : String(err)}`);
    return err instanceof InputError ? 2 : 1;
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
  });
}
