// The nemesis: a seeded schedule of faults, carried out against a cluster through
// ClusterControl, each fault's start and end recorded for the report.
import { rng } from "../check/generate.js";

export type FaultKind = "kill" | "pause" | "leader-kill";
export const FAULT_KINDS: readonly FaultKind[] = ["kill", "pause", "leader-kill"];

export interface ClusterControl {
  readonly size: number;
  /** SIGKILL, and SIGSTOP/SIGCONT, of node i (0-based). */
  kill(node: number): Promise<void>;
  restart(node: number): Promise<void>;
  pause(node: number): Promise<void>;
  resume(node: number): Promise<void>;
  /** The node currently leading, if one is known. */
  leader(): Promise<number | undefined>;
}

export interface Fault {
  kind: FaultKind;
  node: number;
  /** Microseconds on the recorder's clock: when it was applied and when it was healed. */
  start: number;
  end: number;
}

export interface NemesisOptions {
  kinds: readonly FaultKind[];
  seed: number;
  /** How long a fault lasts, and the calm after it. */
  faultMs: number;
  calmMs: number;
}

/** Runs faults one at a time until `stop` resolves; returns what it did. */
export async function runNemesis(
  cluster: ClusterControl,
  options: NemesisOptions,
  now: () => number,
  stop: Promise<void>,
  log: (line: string) => void,
): Promise<Fault[]> {
  const random = rng(options.seed);
  const faults: Fault[] = [];
  let stopping = false;
  void stop.then(() => {
    stopping = true;
  });
  const sleep = (ms: number) =>
    Promise.race([new Promise<void>((resolve) => setTimeout(resolve, ms)), stop]);
  await sleep(options.calmMs);
  while (!stopping && options.kinds.length > 0) {
    const kind = options.kinds[Math.floor(random() * options.kinds.length)] as FaultKind;
    let node = Math.floor(random() * cluster.size);
    if (kind === "leader-kill") node = (await cluster.leader()) ?? node;
    const start = now();
    if (kind === "pause") await cluster.pause(node);
    else await cluster.kill(node);
    log(`nemesis: ${kind} node ${node + 1}`);
    await sleep(options.faultMs);
    if (kind === "pause") await cluster.resume(node);
    else await cluster.restart(node);
    const end = now();
    log(`nemesis: healed node ${node + 1} after ${((end - start) / 1e6).toFixed(1)} s`);
    faults.push({ kind, node, start, end });
    await sleep(options.calmMs);
  }
  return faults;
}
