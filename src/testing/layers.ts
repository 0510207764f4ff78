// The layer order of src/, written down once. A module may import from its own folder and
// from any folder of a lower layer; never from a higher layer, never from a sibling in its
// own layer (siblings are independent of each other), and no import cycle may exist at all.
// `make test` checks this (import-scan.test.ts); `make imports` prints the check.
//
// Tests (`*.test.ts`) are exempt from the order, since nothing imports them: a test may
// import any layer, test support in src/testing/ included. Test support itself sits in the
// order (layer "testing"), so no product module can import it.

/** Lowest first. Each entry lists the top-level folders of src/ that form one layer. */
export const LAYERS: readonly (readonly string[])[] = [
  // The error base every component's coded errors extend.
  ["errors"],
  // The consensus core (with its simulator and transcript driver in subfolders) and small
  // pure helpers (durations, varints, the registry shape every component registry uses),
  // and the command-line toolkit every binary and benchmark shares (src/command/).
  ["raft", "units", "command"],
  // The proposal format (what the engines apply) and the metrics recorders.
  ["proposal", "metrics"],
  // The concrete components: WALs and engines, transports.
  ["storage", "transport"],
  // How one Ready is handled.
  ["pipeline"],
  // The Peer: one member of the group, written against narrow contracts.
  ["peer"],
  // The composition root: the only place that knows every concrete component.
  ["node"],
  // What runs on a node: the key-value service, the benchmarks, the checker, the report,
  // and the whole-node simulator (real Peers on virtual time).
  ["service", "bench", "check", "report", "peer-sim"],
  // Flags onto options: the command-line toolkit every binary shares.
  ["cli"],
  // The binaries.
  ["cmd"],
  // Test support: cluster and process drivers, conformance suites, crash writers, this
  // check. Everything only tests use lives here (docs/decisions.md, issue 12).
  ["testing"],
  // Programs that drive whole clusters under faults.
  ["e2e", "jepsen"],
];

/**
 * Inside src/raft, the core's own files (directly in src/raft/) must not import its tools
 * in subfolders (sim/, scenario/, datadriven/): the tools are built on the core.
 */
export const CORE_FOLDER = "raft";

/** Whether a path (relative to src/, with "/") is a test, exempt from the order. */
export function isTest(path: string): boolean {
  return path.endsWith(".test.ts");
}

/**
 * Cycles that stand for now, each with who removes it. The check fails on any other cycle,
 * and on a listed one that is gone (so the list only shrinks). Files relative to src/.
 */
export const KNOWN_CYCLES: readonly { files: readonly string[]; why: string }[] = [
  {
    files: ["raft/sim/node-io.ts", "raft/sim/workload.ts"],
    why: "node I/O reads a read's id with the workload's readIdOf, the workload types NodeIo (type-only one way; the simulator's owner unties it)",
  },
];
