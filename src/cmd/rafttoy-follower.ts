#!/usr/bin/env node
// rafttoy-follower: serves as one member of the Raft group until stopped (SIGINT/SIGTERM).
// It follows whatever leader runs the benchmarks, resetting its state on each new test epoch.
import { parseFollowerArgs } from "../cli/args.js";
import { checkBeforeStart } from "../cli/startup-checks.js";
import { describeRss, readRss } from "../metrics/rss.js";
import { componentRegistries } from "../node/components.js";
import { exitCodeFor, log, startNode, stopOnSignals } from "../node/node.js";
import { formatEpoch } from "../peer/epoch.js";
import type { Epoch } from "../transport/transport.js";
import { isIpcMessage, sendToParent } from "./cluster-ipc.js";
import { profileUntilExit } from "./cpu-profile.js";

/** How often the follower looks for a new epoch to report its RSS at. */
const RSS_CHECK_MS = 500;

async function main(): Promise<void> {
  const opts = parseFollowerArgs(process.argv.slice(2), componentRegistries);
  await checkBeforeStart("rafttoy-follower", opts);
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
  reportRssPerEpoch(opts.id, () => node.peer.currentEpoch());
}

/**
 * A follower cannot write into the leader's results, so it says on stderr what it holds
 * at the end of each epoch (a new epoch starts when the leader's next run does) and when
 * it stops. The local-cluster launcher also samples it for the JSON.
 */
function reportRssPerEpoch(id: number, epoch: () => Epoch): void {
  let seen = formatEpoch(epoch());
  const timer = setInterval(() => {
    const now = formatEpoch(epoch());
    if (now === seen) return;
    log(`peer ${id}: end of epoch ${seen}: ${describeRss(readRss())}`);
    seen = now;
  }, RSS_CHECK_MS);
  timer.unref();
  process.once("exit", () => log(`peer ${id}: stopping: ${describeRss(readRss())}`));
}

main().catch((err: unknown) => {
  log(`rafttoy-follower: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(exitCodeFor(err));
});
