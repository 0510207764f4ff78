#!/usr/bin/env node
// rafttoy-follower: serves as one member of the Raft group until stopped (SIGINT/SIGTERM).
// It follows whatever leader runs the benchmarks, resetting its state on each new test epoch.
import { parseFollowerArgs } from "../cli/args.js";
import { componentRegistries, exitCodeFor, log, startNode, stopOnSignals } from "../peer/node.js";
import { isIpcMessage, sendToParent } from "./cluster-ipc.js";
import { profileUntilExit } from "./cpu-profile.js";

async function main(): Promise<void> {
  const opts = parseFollowerArgs(process.argv.slice(2), componentRegistries);
  if (opts.cpuProf !== undefined) profileUntilExit(opts.cpuProf, `follower-${opts.id}`, log);
  const node = await startNode(opts);
  stopOnSignals(node);
  // Under local-cluster: the leader asks for this follower's probes at the end of each run.
  process.on("message", (m: unknown) => {
    if (!isIpcMessage(m) || m.kind !== "collect") return;
    sendToParent({
      kind: "snapshot",
      seq: m.seq,
      id: opts.id,
      probes: node.probes.snapshot(),
      metrics: node.metrics.toJSON(),
    });
    node.probes.reset();
  });
  const me = opts.peers.find((p) => p.id === opts.id)!;
  log(`rafttoy-follower ${opts.id} serving on ${me.address} (${node.storage.description})`);
}

main().catch((err: unknown) => {
  log(`rafttoy-follower: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(exitCodeFor(err));
});
