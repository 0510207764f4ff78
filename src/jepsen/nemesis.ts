// The nemesis: a seeded schedule of faults, carried out against a cluster through
// ClusterControl, each fault's start and end recorded for the report.
import { rng } from "../check/generate.js";
import { PARTITION_KINDS, type PartitionKind, planPartition } from "./partitions.js";

/** "member": remove a node through the service, wipe it, and add it back under a new id. */
export type FaultKind = "kill" | "pause" | "leader-kill" | "member" | PartitionKind;
export const FAULT_KINDS: readonly FaultKind[] = [
  "kill",
  "pause",
  "leader-kill",
  ...PARTITION_KINDS,
  "member",
];

function isPartition(kind: FaultKind): kind is PartitionKind {
  return (PARTITION_KINDS as readonly string[]).includes(kind);
}

export interface ClusterControl {
  readonly size: number;
  /** SIGKILL, and SIGSTOP/SIGCONT, of node i (0-based). */
  kill(node: number): Promise<void>;
  restart(node: number): Promise<void>;
  pause(node: number): Promise<void>;
  resume(node: number): Promise<void>;
  /** The node currently leading, if one is known. */
  leader(): Promise<number | undefined>;
  /** Tells each node in `cuts` to drop all traffic to and from the nodes listed for it. */
  partition(cuts: ReadonlyMap<number, readonly number[]>): Promise<void>;
  /** Reconnects every node. */
  heal(): Promise<void>;
  /** Removes node i from the configuration (through any member) and stops it. */
  removeMember(node: number): Promise<void>;
  /** Starts node i again empty, under a new id, joining the cluster; resolves once it votes. */
  addMember(node: number): Promise<void>;
  /**
   * Resolves true once every node is up, all name one leader, and each has applied what
   * that leader had committed when first asked; false if not within `timeoutMs`.
   */
  settled(timeoutMs: number): Promise<boolean>;
}

/** How long the nemesis waits, after healing, for the cluster to catch up. */
export const SETTLE_MS = 30_000;

export interface Fault {
  kind: FaultKind;
  node: number;
  /** A partition's sides, e.g. "1 | 2 3". */
  shape?: string;
  /**
   * Microseconds from the heal until every node had caught up (ClusterControl.settled);
   * null: not within SETTLE_MS, or the run ended first. The next fault waits for it, so
   * faults do not pile up on a node still restarting.
   */
  caughtUpUs: number | null;
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
    const leader =
      kind === "leader-kill" || kind === "member" || isPartition(kind)
        ? await cluster.leader()
        : undefined;
    if (kind === "leader-kill") node = leader ?? node;
    // A member change takes a follower: removing the leader is a leadership loss the
    // leader-kill and partition-leader faults already cover.
    if (kind === "member" && node === leader) node = (node + 1) % cluster.size;
    let shape: string | undefined;
    // Set once the fault is in force (a partition reaches its nodes one admin command at a
    // time): a write that completes before then says nothing of recovering from it.
    let start = now();
    const applyFault = async () => {
      try {
        if (isPartition(kind)) {
          const plan = planPartition(kind, cluster.size, leader, random);
          node = plan.node;
          shape = plan.shape;
          await cluster.partition(plan.cuts);
        } else if (kind === "pause") await cluster.pause(node);
        else if (kind === "member") await cluster.removeMember(node);
        else await cluster.kill(node);
        start = now();
        log(`nemesis: ${kind} node ${node + 1}${shape === undefined ? "" : ` (${shape})`}`);
        await sleep(options.faultMs);
      } finally {
        // Healed even when the run is being stopped or the fault failed half-way.
        if (isPartition(kind)) await cluster.heal();
        else if (kind === "pause") await cluster.resume(node);
        else if (kind === "member") await cluster.addMember(node);
        else await cluster.restart(node);
      }
    };
    try {
      await applyFault();
    } catch (err) {
      // A fault the cluster could not be given (a node that never came up): the history so
      // far is still checked, with no more faults.
      log(
        `nemesis: ${kind} node ${node + 1} failed, no more faults: ${err instanceof Error ? err.message : String(err)}`,
      );
      break;
    }
    const end = now();
    const settled =
      !stopping && (await Promise.race([cluster.settled(SETTLE_MS), stop.then(() => false)]));
    const caughtUpUs = settled ? now() - end : null;
    log(
      `nemesis: healed node ${node + 1} after ${((end - start) / 1e6).toFixed(1)} s; ${caughtUpUs === null ? "not caught up" : `all caught up ${(caughtUpUs / 1000).toFixed(0)} ms later`}`,
    );
    faults.push({ kind, node, start, end, ...(shape === undefined ? {} : { shape }), caughtUpUs });
    await sleep(options.calmMs);
  }
  return faults;
}
