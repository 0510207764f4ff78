// The nemesis's partition shapes, as plain data: for each node, the nodes it is cut off
// from (the cut is symmetric: every node is told about both directions, so a node that
// restarts mid-run loses only its own half). Nodes are 0-based slots of the cluster.

export type PartitionKind =
  /** The leader alone against the rest. */
  | "partition-leader"
  /** One follower alone against the rest. */
  | "partition-follower"
  /** A random minority (⌊(n−1)/2⌋ nodes, the leader among them or not) against the majority. */
  | "partition-split"
  /**
   * Two halves that cannot reach each other and one bridge node that reaches both: with 5
   * nodes each half plus the bridge is a majority, the classic Jepsen "bridge".
   */
  | "partition-bridge";

export const PARTITION_KINDS: readonly PartitionKind[] = [
  "partition-leader",
  "partition-follower",
  "partition-split",
  "partition-bridge",
];

export interface PartitionPlan {
  /** node → the nodes it must drop traffic to and from (nodes without a cut are absent). */
  cuts: Map<number, number[]>;
  /** The node the fault is filed under in the report: the isolated one, or the bridge. */
  node: number;
  /** The sides, 1-based as the nodes' ids are shown: "1 | 2 3" or "1 2 | 3 (bridge) | 4 5". */
  shape: string;
}

function shuffled(items: number[], random: () => number): number[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [a[i], a[j]] = [a[j] as number, a[i] as number];
  }
  return a;
}

const show = (side: readonly number[]) =>
  [...side]
    .sort((a, b) => a - b)
    .map((n) => n + 1)
    .join(" ");

/** Cuts between sides: every node on one side is cut off from every node on the others. */
function sidesCut(sides: readonly (readonly number[])[]): Map<number, number[]> {
  const cuts = new Map<number, number[]>();
  for (const side of sides)
    for (const node of side)
      cuts.set(
        node,
        sides.filter((s) => s !== side).flatMap((s) => [...s]),
      );
  return cuts;
}

/**
 * The plan for `kind` on a cluster of `size` nodes whose leader is `leader` (undefined:
 * none known; the leader plan then isolates a random node).
 */
export function planPartition(
  kind: PartitionKind,
  size: number,
  leader: number | undefined,
  random: () => number,
): PartitionPlan {
  const all = Array.from({ length: size }, (_, i) => i);
  const pick = (from: number[]) => from[Math.floor(random() * from.length)] as number;
  switch (kind) {
    case "partition-leader":
    case "partition-follower": {
      const followers = all.filter((n) => n !== leader);
      const alone =
        kind === "partition-leader"
          ? (leader ?? pick(all))
          : pick(followers.length > 0 ? followers : all);
      const rest = all.filter((n) => n !== alone);
      return {
        cuts: sidesCut([[alone], rest]),
        node: alone,
        shape: `${show([alone])} | ${show(rest)}`,
      };
    }
    case "partition-split": {
      const order = shuffled(all, random);
      const minority = order.slice(0, Math.floor((size - 1) / 2));
      const majority = order.slice(minority.length);
      return {
        cuts: sidesCut([minority, majority]),
        node: minority[0] as number,
        shape: `${show(minority)} | ${show(majority)}`,
      };
    }
    case "partition-bridge": {
      const [bridge, ...others] = shuffled(all, random) as [number, ...number[]];
      const half = Math.floor(others.length / 2);
      const left = others.slice(0, half);
      const right = others.slice(half);
      const cuts = sidesCut([left, right]);
      return {
        cuts,
        node: bridge,
        shape: `${show(left)} | ${bridge + 1} (bridge) | ${show(right)}`,
      };
    }
  }
}
