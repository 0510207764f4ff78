// The logic behind the `rafttoy-sim` command: parse and check the flags, run one seed,
// print progress on stderr and the summary line last on stdout; on a violation, look for
// a shorter run that breaks the same invariant and print its last events.
import yargs from "yargs";
import { commandSettings, intInRange } from "../command/command.js";
import { UsageError } from "../errors/errors.js";
import type { TestingBugs } from "../raft/api.js";
import { type FaultSet, parseFaults } from "../raft/sim/faults.js";
import {
  isTestingBugName,
  reproduceCommand,
  type SimOptions,
  summaryLine,
  TESTING_BUG_NAMES,
} from "../raft/sim/options.js";
import { runSimulation } from "../raft/sim/scheduler.js";
import { type FailingRun, shrink } from "../raft/sim/shrink.js";

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Milliseconds, for progress lines only (never feeds the simulation). */
  clock(): number;
}

export const MAX_NODES = 15;

function parseTestingBug(name: string | undefined): TestingBugs | undefined {
  if (name === undefined) return undefined;
  if (!isTestingBugName(name)) {
    throw new UsageError(
      `--testing-bug must be one of ${TESTING_BUG_NAMES.join(", ")}, got "${name}"`,
    );
  }
  return { [name]: true };
}

export interface SimArgs {
  opts: SimOptions;
  traceLines: number;
  shrink: boolean;
}

function parser(args: readonly string[]) {
  const y = yargs([...args])
    .scriptName("rafttoy-sim")
    .usage(
      "$0 [options]\n\nRuns a Raft cluster under a deterministic, seeded simulator with fault " +
        "injection and checks the Raft safety invariants after every step.",
    )
    .option("nodes", { type: "string", default: "5", describe: `cluster size (1..${MAX_NODES})` })
    .option("steps", { type: "string", default: "20000", describe: "scheduler steps to run" })
    .option("seed", { type: "string", default: "1", describe: "seed (0..4294967295)" })
    .option("faults", {
      type: "string",
      default: "all",
      describe: "none | all | comma list of drop,dup,reorder,partition,crash,compact",
    })
    .option("async", {
      type: "boolean",
      default: false,
      describe: "run the nodes with asyncStorageWrites",
    })
    .option("trace", {
      type: "string",
      default: "40",
      describe: "events to print before a violation",
    })
    .option("testing-bug", {
      type: "string",
      describe:
        "switch off one safety or liveness rule of the core, to watch the checker catch it: " +
        TESTING_BUG_NAMES.join(" | "),
    })
    .option("shrink", {
      type: "boolean",
      default: true,
      describe: "on a violation, search for a shorter failing run (--no-shrink to skip)",
    })
    .epilogue(
      "Output: progress on stderr; the last stdout line is\n" +
        "  sim: seed=S nodes=N steps=K commits=C elections=E crashes=X partitions=P violations=V\n" +
        "Exit status: 0 no violation, 1 violation (seed, invariant and trace printed), 2 bad flags.",
    );
  return commandSettings(y, args);
}

/** Parses the flags; throws UsageError (one line) on anything wrong. */
export function parseSimArgs(args: readonly string[]): SimArgs {
  const argv = parser(args).parseSync();
  if (argv._.length > 0) {
    throw new UsageError(
      `unknown argument ${JSON.stringify(String(argv._[0]))}: remove it (run with --help for the flags)`,
    );
  }
  let faults: FaultSet;
  try {
    faults = parseFaults(argv.faults);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return {
    opts: {
      seed: intInRange("seed", argv.seed, 0, 0xffff_ffff),
      nodes: intInRange("nodes", argv.nodes, 1, MAX_NODES),
      steps: intInRange("steps", argv.steps, 1, 1_000_000_000),
      faults,
      async: argv.async,
      testingBugs: parseTestingBug(argv["testing-bug"]),
    },
    traceLines: intInRange("trace", argv.trace, 0, 100_000),
    shrink: argv.shrink,
  };
}

function wantsHelp(args: readonly string[]): boolean {
  return args.includes("--help") || args.includes("-h");
}

/** Runs the command; returns the exit status. */
export async function simMain(args: readonly string[], io: CliIo): Promise<number> {
  if (wantsHelp(args)) {
    io.out(await parser([]).getHelp());
    return 0;
  }
  let parsed: SimArgs;
  try {
    parsed = parseSimArgs(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`rafttoy-sim: ${e.message.split("\n")[0]}`);
    return 2;
  }
  const { opts } = parsed;
  const started = io.clock();
  const progressEvery = opts.steps >= 100_000 ? 25_000 : 0;
  const result = runSimulation({
    ...opts,
    traceSize: Math.max(parsed.traceLines, 1),
    progressEvery,
    onProgress: (step) => {
      const secs = ((io.clock() - started) / 1000).toFixed(1);
      io.err(`sim: step ${step}/${opts.steps} (${secs}s)`);
    },
  });
  const v = result.violation;
  if (v !== undefined) {
    io.out(`sim: VIOLATION seed=${opts.seed} invariant=${v.invariant} step=${v.step}: ${v.detail}`);
    io.out(`sim: reproduce: ${reproduceCommand(opts)}`);
    let shortest: FailingRun = { opts: { ...opts, traceSize: parsed.traceLines }, result };
    if (parsed.shrink) {
      io.err("sim: searching for a shorter failing run...");
      shortest = shrink(shortest);
      const sv = shortest.result.violation!;
      io.out(
        `sim: shortest failing run: ${reproduceCommand(shortest.opts)} ` +
          `(${sv.invariant} at step ${sv.step}: ${sv.detail})`,
      );
    }
    const lines = shortest.result.trace.slice(-parsed.traceLines);
    if (lines.length > 0) {
      io.out(`sim: last ${lines.length} events of that run:`);
      for (const line of lines) io.out(`  ${line}`);
    }
  }
  io.out(summaryLine(result));
  return v === undefined ? 0 : 1;
}
