// What a simulation run is asked to do and what it reports: the options, the result, the
// summary line every front end prints and the command line that replays a run. The run's
// length also fixes when its faults stop (the quiet phase), which the shrinker relies on.
import type { TestingBugs } from "../api.js";
import type { InvariantName } from "./checker.js";
import { type FaultSet, formatFaults } from "./faults.js";

/** The core's planted bugs (Config.testingBugs), as the command lines name them. */
export const TESTING_BUG_NAMES = [
  "commitPreviousTermByCount",
  "ignoreCandidateLogUpToDate",
  "commitWithoutMajority",
  "matchRunsAhead",
  "readIndexWithoutQuorum",
  "checkQuorumNeverStepsDown",
  "transferSkipsTimeoutNow",
  "electionTimerIgnoresLeader",
] as const satisfies readonly (keyof TestingBugs)[];

export type TestingBugName = (typeof TESTING_BUG_NAMES)[number];

export function isTestingBugName(s: string): s is TestingBugName {
  return (TESTING_BUG_NAMES as readonly string[]).includes(s);
}

export interface SimOptions {
  seed: number;
  nodes: number;
  steps: number;
  faults: FaultSet;
  /** Run every node with asyncStorageWrites. */
  async: boolean;
  testingBugs?: TestingBugs;
  /** How many of the last events to keep for a violation report. */
  traceSize?: number;
  /** Called every `progressEvery` steps (for progress output on long runs). */
  onProgress?: (step: number) => void;
  progressEvery?: number;
}

export interface Violation {
  invariant: InvariantName;
  detail: string;
  step: number;
}

export interface SimResult {
  seed: number;
  nodes: number;
  /** Steps executed (less than asked for when a violation stopped the run). */
  steps: number;
  /** Client proposals applied (each counted once, on the first node that applied it). */
  commits: number;
  elections: number;
  crashes: number;
  partitions: number;
  violation?: Violation;
  /** The last events before the end of the run, formatted. */
  trace: string[];
}

export function summaryLine(r: SimResult): string {
  return (
    `sim: seed=${r.seed} nodes=${r.nodes} steps=${r.steps} commits=${r.commits} ` +
    `elections=${r.elections} crashes=${r.crashes} partitions=${r.partitions} ` +
    `violations=${r.violation === undefined ? 0 : 1}`
  );
}

/** Steps after the faults stop within which a new proposal must be applied. */
export const LIVENESS_STEPS = 4000;
/** Longest quiet phase at the end of a run. */
const MAX_QUIET_STEPS = 6000;

/** The step at which the faults stop: the last quarter of a run, at most MAX_QUIET_STEPS. */
export function quietPhaseStart(steps: number): number {
  return steps - Math.min(MAX_QUIET_STEPS, Math.floor(steps / 4));
}

/** The command line that reproduces a run. */
export function reproduceCommand(opts: SimOptions): string {
  const async = opts.async ? " --async" : "";
  const bugs = Object.entries(opts.testingBugs ?? {})
    .filter(([, on]) => on === true)
    .map(([name]) => ` --testing-bug ${name}`)
    .join("");
  return (
    `rafttoy-sim --seed ${opts.seed} --nodes ${opts.nodes} --steps ${opts.steps} ` +
    `--faults ${formatFaults(opts.faults)}${async}${bugs}`
  );
}
