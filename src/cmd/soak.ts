// `make soak`: the simulator over many seeds, alternating synchronous and asynchronous
// storage writes. Stops at the first violation with a command that reproduces it.
//
//   node dist/src/cmd/soak.js --seeds 500 --steps 200000 [--first-seed S] [--nodes 5]
//
// With --testing-bug NAME it measures the self-test's catch rate instead: every seed runs
// with that planted bug, and the last line tells on how many seeds which invariant caught it.
//
// Without --first-seed the run starts at a seed taken from the clock, so that every soak
// explores seeds nobody has run before; the first seed is printed, and each seed
// reproduces on its own.
import { pathToFileURL } from "node:url";
import { hideBin } from "yargs/helpers";
import { commandParser, intInRange, parseWith } from "../command/command.js";
import { UsageError } from "../errors/errors.js";
import type { TestingBugs } from "../raft/api.js";
import { parseFaults } from "../raft/sim/faults.js";
import {
  isTestingBugName,
  reproduceCommand,
  type SimOptions,
  type SimResult,
  summaryLine,
  TESTING_BUG_NAMES,
} from "../raft/sim/options.js";
import { runSimulation } from "../raft/sim/scheduler.js";
import type { CliIo } from "./sim-cli.js";
import { MAX_NODES } from "./sim-cli.js";

const TRACE_LINES = 40;

export async function soakMain(args: readonly string[], io: CliIo): Promise<number> {
  let seeds: number;
  let steps: number;
  let nodes: number;
  let firstSeed: number;
  let faults: ReturnType<typeof parseFaults>;
  let bug: TestingBugs | undefined;
  let bugName = "";
  try {
    const y = commandParser(
      "soak",
      "$0 [flags]\n\nRuns the simulator over many seeds (even seeds synchronous storage, odd asynchronous) and stops at the first violation; with --testing-bug, measures how often a planted bug is caught.",
      args,
    )
      .option("seeds", { type: "string", default: "500", describe: "how many seeds to run" })
      .option("steps", { type: "string", default: "200000", describe: "steps per seed" })
      .option("nodes", { type: "string", default: "5", describe: `cluster size (1..${MAX_NODES})` })
      .option("faults", { type: "string", default: "all", describe: "as for rafttoy-sim" })
      .option("first-seed", { type: "string", describe: "first seed (default: from the clock)" })
      .option("testing-bug", {
        type: "string",
        describe: `measure the catch rate of a planted bug: ${TESTING_BUG_NAMES.join(" | ")}`,
      });
    const parsed = parseWith(y, args);
    if ("help" in parsed) {
      io.out(parsed.help);
      return 0;
    }
    const argv = parsed.raw as Awaited<ReturnType<typeof y.parse>>;
    if (argv._.length > 0) {
      throw new UsageError(
        `unknown argument ${JSON.stringify(String(argv._[0]))}: remove it (run with --help for the flags)`,
      );
    }
    seeds = intInRange("seeds", argv.seeds, 1, 100_000_000);
    steps = intInRange("steps", argv.steps, 1, 1_000_000_000);
    nodes = intInRange("nodes", argv.nodes, 1, MAX_NODES);
    faults = parseFaults(argv.faults);
    const name = argv["testing-bug"];
    if (name !== undefined) {
      if (!isTestingBugName(name)) {
        throw new UsageError(
          `--testing-bug must be one of ${TESTING_BUG_NAMES.join(", ")}, got "${name}"`,
        );
      }
      bug = { [name]: true };
      bugName = name;
    }
    firstSeed =
      argv["first-seed"] === undefined
        ? Math.floor(io.clock()) % 1_000_000_000
        : intInRange("first-seed", argv["first-seed"], 0, 0xffff_ffff - seeds);
  } catch (e) {
    io.err(`soak: ${(e as Error).message.split("\n")[0]}`);
    return 2;
  }

  io.err(`soak: ${seeds} seeds from ${firstSeed}, ${steps} steps, ${nodes} nodes`);
  if (bug !== undefined) {
    return catchRate({ seeds, steps, nodes, firstSeed, faults, bug, bugName }, io);
  }
  const started = io.clock();
  let commits = 0;
  for (let i = 0; i < seeds; i++) {
    const opts: SimOptions = {
      seed: firstSeed + i,
      nodes,
      steps,
      faults,
      async: i % 2 === 1,
      traceSize: TRACE_LINES,
    };
    const result = runSimulation(opts);
    commits += result.commits;
    const v = result.violation;
    if (v !== undefined) {
      io.out(
        `soak: VIOLATION seed=${opts.seed} invariant=${v.invariant} step=${v.step}: ${v.detail}`,
      );
      io.out(`soak: reproduce (and shrink) with: ${reproduceCommand(opts)}`);
      for (const line of result.trace) io.out(`  ${line}`);
      io.out(summaryLine(result));
      return 1;
    }
    const secs = ((io.clock() - started) / 1000).toFixed(0);
    io.err(`soak: ${i + 1}/${seeds} ok (${secs}s) ${summaryLine(result)}`);
  }
  io.out(`soak: ${seeds} seeds x ${steps} steps, ${commits} commits, no violation`);
  return 0;
}

interface CatchRateRun {
  seeds: number;
  steps: number;
  nodes: number;
  firstSeed: number;
  faults: ReturnType<typeof parseFaults>;
  bug: TestingBugs;
  bugName: string;
}

/** Runs every seed with the planted bug; reports on how many seeds which invariant caught it. */
function catchRate(run: CatchRateRun, io: CliIo): number {
  const started = io.clock();
  const byInvariant = new Map<string, number>();
  let caught = 0;
  let steps = 0;
  for (let i = 0; i < run.seeds; i++) {
    const opts: SimOptions = {
      seed: run.firstSeed + i,
      nodes: run.nodes,
      steps: run.steps,
      faults: run.faults,
      async: i % 2 === 1,
      testingBugs: run.bug,
      traceSize: 1,
    };
    const result: SimResult = runSimulation(opts);
    steps += result.steps;
    const v = result.violation;
    if (v !== undefined) {
      caught++;
      byInvariant.set(v.invariant, (byInvariant.get(v.invariant) ?? 0) + 1);
    }
    const secs = ((io.clock() - started) / 1000).toFixed(0);
    const what = v === undefined ? "missed" : `caught by ${v.invariant} at step ${v.step}`;
    io.err(`soak: ${i + 1}/${run.seeds} (${secs}s) seed ${opts.seed}: ${what}`);
  }
  const pct = ((100 * caught) / run.seeds).toFixed(0);
  const kinds = [...byInvariant].map(([name, n]) => `${name} ${n}`).join(", ");
  io.out(
    `soak: testing bug ${run.bugName} caught on ${caught}/${run.seeds} seeds (${pct}%)` +
      `${kinds === "" ? "" : `: ${kinds}`}; ${steps} steps`,
  );
  return 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exitCode = await soakMain(hideBin(process.argv), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
    clock: () => Date.now(),
  });
}
