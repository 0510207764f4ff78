// Shrinking a failing whole-node run: the same seed with fewer steps. A shorter run starts
// its quiet phase earlier, so it is a different run; it is kept only if it breaks the same
// property. Halving from the failing step finds a short reproduction in a few runs.
import type { PeerSimOptions, PeerSimResult } from "./options.js";
import { runPeerSimulation } from "./simulator.js";

export interface FailingPeerRun {
  opts: PeerSimOptions;
  result: PeerSimResult;
}

/** Runs at most this many candidates. */
const MAX_TRIES = 12;

export async function shrinkPeerRun(
  opts: PeerSimOptions,
  result: PeerSimResult,
): Promise<FailingPeerRun> {
  const property = result.violation?.property;
  let best: FailingPeerRun = { opts, result };
  if (property === undefined) return best;
  let steps = result.violation!.step;
  for (let i = 0; i < MAX_TRIES && steps >= 1 && steps < best.opts.steps; i++) {
    const candidate = { ...opts, steps };
    const r = await runPeerSimulation(candidate);
    if (r.violation?.property !== property) break;
    best = { opts: candidate, result: r };
    steps = Math.min(r.violation.step, Math.floor(steps / 2));
  }
  return best;
}
