// Finding a shorter run that breaks the same invariant, so that a report shows as few
// events as possible. A run is fully determined by its options, so every candidate is
// reproducible with the command line printed for it.
import { FAULT_KINDS } from "./faults.js";
import { quietPhaseStart, type SimOptions, type SimResult } from "./options.js";
import { runSimulation } from "./scheduler.js";

export interface FailingRun {
  opts: SimOptions;
  result: SimResult;
}

/**
 * The smallest step count whose schedule matches the original up to `step`: the schedule
 * only depends on the step count through the start of the quiet phase, so any count whose
 * quiet phase starts after `step` replays the same events up to it.
 */
export function stepsKeepingScheduleUpTo(step: number): number {
  for (let s = step + 1; ; s++) if (quietPhaseStart(s) > step) return s;
}

function failsAlike(r: SimResult, invariant: string): boolean {
  return r.violation !== undefined && r.violation.invariant === invariant;
}

/**
 * Greedy search: first drop the steps after the violation (same schedule), then try each
 * fault kind removed and the step count halved, keeping any candidate that breaks the
 * same invariant at an earlier step. Runs at most `budget` extra simulations.
 */
export function shrink(first: FailingRun, budget = 12): FailingRun {
  const violation = first.result.violation;
  if (violation === undefined) return first;
  const invariant = violation.invariant;
  let best = first;
  let runs = 0;
  const attempt = (opts: SimOptions): boolean => {
    if (runs >= budget) return false;
    runs++;
    const result = runSimulation({ ...opts, onProgress: undefined });
    const v = result.violation;
    if (!failsAlike(result, invariant) || v!.step > best.result.violation!.step) return false;
    if (v!.step === best.result.violation!.step && opts.steps >= best.opts.steps) return false;
    best = { opts, result };
    return true;
  };
  const trimSteps = (): void => {
    const at = best.result.violation!.step;
    const steps = stepsKeepingScheduleUpTo(at);
    if (steps < best.opts.steps) attempt({ ...best.opts, steps });
  };

  trimSteps();
  for (const kind of FAULT_KINDS) {
    if (!best.opts.faults.has(kind)) continue;
    const faults = new Set(best.opts.faults);
    faults.delete(kind);
    if (attempt({ ...best.opts, faults, steps: first.opts.steps })) trimSteps();
  }
  for (let steps = Math.floor(best.opts.steps / 2); steps >= 1000 && runs < budget; ) {
    if (attempt({ ...best.opts, steps })) trimSteps();
    steps = Math.floor(steps / 2);
  }
  return best;
}
