// `rafttoy-sim --peer`: the whole-node simulator (src/peer-sim/) over one pipeline or all
// seven, for one seed or many. Each pipeline ends with one line on stdout:
//   peer-sim: pipeline=P seeds=N steps=S violations=V steps/s=R
// A violation prints its seed, the property, the command that replays it, a shorter failing
// run when one is found, and the run's last events; the exit status is then 1.
import yargs from "yargs";
import { commandSettings, intInRange } from "../command/command.js";
import { UsageError } from "../errors/errors.js";
import {
  isPipelineBugName,
  type PeerSimOptions,
  type PeerSimResult,
  PIPELINE_BUG_NAMES,
  peerReproduceCommand,
  peerSummaryLine,
  pipelinesWithBug,
} from "../peer-sim/options.js";
import { shrinkPeerRun } from "../peer-sim/shrink.js";
import { runPeerSimulation } from "../peer-sim/simulator.js";
import { pipelineKinds } from "../pipeline/registry.js";
import type { CliIo } from "./sim-cli.js";

export const MAX_PEER_NODES = 7;

export interface PeerSimArgs {
  pipelines: string[];
  base: Omit<PeerSimOptions, "pipeline" | "seed">;
  firstSeed: number;
  seeds: number;
  traceLines: number;
  shrink: boolean;
  /** Print a summary line per seed, not only per pipeline. */
  verbose: boolean;
}

function parser(args: readonly string[]) {
  const y = yargs([...args])
    .scriptName("rafttoy-sim --peer")
    .usage(
      "rafttoy-sim --peer [options]\n\nRuns real Peers, each with the chosen pipeline, on virtual time over a " +
        "simulated network and simulated disks (crashes inside persists, torn writes, failing syncs, slow " +
        "disks, partitions), and checks that no acknowledged proposal is lost.",
    )
    .option("peer", { type: "boolean", describe: "the whole-node simulator (this mode)" })
    .option("pipeline", {
      type: "string",
      default: "all",
      describe: `a pipeline, or all: ${pipelineKinds.join(" | ")}`,
    })
    .option("nodes", { type: "string", default: "3", describe: `voters (1..${MAX_PEER_NODES})` })
    .option("steps", { type: "string", default: "30000", describe: "events per seed" })
    .option("seed", { type: "string", describe: "the first seed (default: 1)" })
    .option("seeds", { type: "string", default: "1", describe: "how many seeds, from --seed on" })
    .option("pipeline-bug", {
      type: "string",
      describe: `plant a pipeline bug, to watch the checks catch it: ${PIPELINE_BUG_NAMES.join(" | ")}`,
    })
    .option("trace", {
      type: "string",
      default: "40",
      describe: "events to print before a violation",
    })
    .option("shrink", {
      type: "boolean",
      default: true,
      describe: "on a violation, look for a shorter failing run (--no-shrink to skip)",
    })
    .option("verbose", { type: "boolean", default: false, describe: "a summary line per seed" });
  return commandSettings(y, args);
}

export function parsePeerSimArgs(args: readonly string[]): PeerSimArgs {
  const argv = parser(args).parseSync();
  if (argv._.length > 0) {
    throw new UsageError(
      `unknown argument ${JSON.stringify(String(argv._[0]))}: remove it (run with --help for the flags)`,
    );
  }
  const bugName = argv["pipeline-bug"];
  if (bugName !== undefined && !isPipelineBugName(bugName)) {
    throw new UsageError(
      `--pipeline-bug must be one of ${PIPELINE_BUG_NAMES.join(", ")}, got "${bugName}"`,
    );
  }
  let pipelines: string[];
  if (argv.pipeline === "all") pipelines = [...pipelineKinds];
  else if (pipelineKinds.includes(argv.pipeline)) pipelines = [argv.pipeline];
  else {
    throw new UsageError(
      `--pipeline must be all or one of ${pipelineKinds.join(", ")}, got "${argv.pipeline}"`,
    );
  }
  if (bugName !== undefined) {
    pipelines = pipelinesWithBug(bugName, pipelines);
    if (pipelines.length === 0) {
      throw new UsageError(`--pipeline-bug ${bugName} is in none of the chosen pipelines`);
    }
  }
  const seeds = intInRange("seeds", argv.seeds, 1, 100_000_000);
  return {
    pipelines,
    base: {
      nodes: intInRange("nodes", argv.nodes, 1, MAX_PEER_NODES),
      steps: intInRange("steps", argv.steps, 1, 1_000_000_000),
      ...(bugName !== undefined ? { bug: bugName } : {}),
    },
    firstSeed: argv.seed === undefined ? 1 : intInRange("seed", argv.seed, 0, 0xffff_ffff - seeds),
    seeds,
    traceLines: intInRange("trace", argv.trace, 0, 100_000),
    shrink: argv.shrink,
    verbose: argv.verbose,
  };
}

async function reportViolation(
  io: CliIo,
  opts: PeerSimOptions,
  result: PeerSimResult,
  a: PeerSimArgs,
): Promise<void> {
  const v = result.violation!;
  io.out(
    `peer-sim: VIOLATION seed=${opts.seed} pipeline=${opts.pipeline} property=${v.property} step=${v.step}: ${v.detail}`,
  );
  io.out(`peer-sim: reproduce: ${peerReproduceCommand(opts)}`);
  let trace = result.trace;
  if (a.shrink) {
    io.err("peer-sim: searching for a shorter failing run...");
    const shorter = await shrinkPeerRun(opts, result);
    if (shorter.opts.steps < opts.steps) {
      const sv = shorter.result.violation!;
      io.out(
        `peer-sim: shortest failing run: ${peerReproduceCommand(shorter.opts)} (${sv.property} at step ${sv.step})`,
      );
      trace = shorter.result.trace;
    }
  }
  const lines = trace.slice(-a.traceLines);
  if (lines.length > 0) {
    io.out(`peer-sim: last ${lines.length} events of that run:`);
    for (const line of lines) io.out(`  ${line}`);
  }
}

/** Runs the whole-node simulator; returns the exit status. */
export async function peerSimMain(args: readonly string[], io: CliIo): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    io.out(await parser([]).getHelp());
    return 0;
  }
  let a: PeerSimArgs;
  try {
    a = parsePeerSimArgs(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    io.err(`rafttoy-sim: ${e.message.split("\n")[0]}`);
    return 2;
  }
  let failed = false;
  for (const pipeline of a.pipelines) {
    const started = io.clock();
    let steps = 0;
    let violations = 0;
    /** Violations by property (a planted bug's catch rate says which property caught it). */
    const byProperty = new Map<string, number>();
    for (let k = 0; k < a.seeds; k++) {
      const opts: PeerSimOptions = {
        ...a.base,
        pipeline,
        seed: a.firstSeed + k,
        traceSize: Math.max(a.traceLines, 1),
      };
      const result = await runPeerSimulation(opts);
      steps += result.steps;
      if (a.verbose || a.seeds === 1) io.out(peerSummaryLine(result));
      if (result.violation !== undefined) {
        violations++;
        const p = result.violation.property;
        byProperty.set(p, (byProperty.get(p) ?? 0) + 1);
        failed = true;
        // A planted bug is expected to be caught: count it, print only the first.
        if (a.base.bug === undefined || violations === 1)
          await reportViolation(io, opts, result, a);
        if (a.base.bug === undefined) break;
      }
    }
    const secs = (io.clock() - started) / 1000;
    const by = [...byProperty].map(([p, n]) => `${p} ${n}`).join(", ");
    const caught =
      a.base.bug === undefined
        ? ""
        : ` caught=${violations}/${a.seeds}${by === "" ? "" : ` (${by})`}`;
    io.out(
      `peer-sim: pipeline=${pipeline} seeds=${a.seeds} first-seed=${a.firstSeed} steps=${steps} ` +
        `violations=${violations}${caught} steps/s=${Math.round(steps / Math.max(secs, 1e-3))}`,
    );
  }
  return failed ? 1 : 0;
}
