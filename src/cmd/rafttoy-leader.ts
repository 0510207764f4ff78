#!/usr/bin/env node
// rafttoy-leader: campaigns until it leads, waits for the followers to catch up, then runs
// each selected benchmark in a fresh test epoch and prints one Go-style line per run.
// An unmeasured warm-up comes before the first run.
import { proposalPayloadMaker } from "../bench/payload.js";
import { addRssToReport } from "../bench/rss-report.js";
import { type RunProgress, runBenchmarks, writeReport } from "../bench/runner.js";
import { warmUp, warmupPlan } from "../bench/warmup.js";
import { parseLeaderArgs } from "../cli/args.js";
import { dropsVerdict, EXIT_FAILED } from "../cli/exit-codes.js";
import { checkBeforeStart } from "../cli/startup-checks.js";
import { describeRss, readRss } from "../metrics/rss.js";
import { componentRegistries } from "../node/components.js";
import { exitCodeFor, log, startNode, stopOnSignals } from "../node/node.js";
import { QuorumWatch } from "../peer/quorum-watch.js";
import { collectFollowers, hasParentChannel, sendToParent, unrefChannel } from "./cluster-ipc.js";
import { howToOpenProfiles, profileUntilExit } from "./cpu-profile.js";

const LEAD_TIMEOUT_MS = 60_000;
/** Warm-up workers for an open-loop (maxrate) first case. */
const WARMUP_CONC = 64;

async function main(): Promise<number> {
  // The launcher's channel is for extras; it must never keep the leader from exiting.
  unrefChannel();
  const processStart = Date.now();
  const opts = parseLeaderArgs(process.argv.slice(2), componentRegistries);
  await checkBeforeStart("rafttoy-leader", opts);
  if (opts.cpuProf !== undefined) {
    const dir = opts.cpuProf;
    profileUntilExit(dir, "leader", log);
    // Said once the profiles are about to be written (local-cluster says it on its terminal).
    if (!hasParentChannel()) process.once("exit", () => log(howToOpenProfiles(dir)));
  }
  const node = await startNode(opts, processStart);
  stopOnSignals(node);
  const peer = node.peer;
  log(`rafttoy-leader: waiting to lead (peers ${opts.peers.map((p) => p.address).join(",")})`);
  await peer.campaignUntilLeader(LEAD_TIMEOUT_MS);
  await peer.waitForAllCaughtUp(LEAD_TIMEOUT_MS);
  log("rafttoy-leader: leading, followers caught up");
  // From here on, a leader that stops committing or leading ends the session.
  const watch = new QuorumWatch(peer, {
    electionTimeoutMs: opts.tickMs * opts.electionTicks,
    onLost: (line) => {
      log(`rafttoy-leader: ${line}`);
      process.exit(EXIT_FAILED);
    },
  });
  watch.resume();
  let first = true;
  const { bench, benchtime, count, maxrate, json, peers, allowDrops, ...components } = opts;
  const report = await runBenchmarks({
    pattern: bench,
    benchtime,
    count,
    maxrate,
    sweep: opts.sweep,
    proposer: peer,
    makePayload: proposalPayloadMaker(opts.keys),
    prepare: async ({ benchCase }) => {
      if (first) {
        // The first run would otherwise pay for compiling the hot paths of all three
        // processes: a closed-loop load first, not measured (src/bench/warmup.ts says how
        // long), then a fresh epoch.
        first = false;
        log("rafttoy-leader: warming up (not measured)");
        const warm = await warmUp(
          {
            proposer: peer,
            conc: benchCase.conc ?? WARMUP_CONC,
            bytes: benchCase.bytes,
            latency: { record: () => {} },
            makePayload: proposalPayloadMaker(opts.keys),
          },
          warmupPlan(benchtime),
        );
        log(
          `rafttoy-leader: warmed up with ${warm.completed} proposals in ${(warm.elapsedMs / 1000).toFixed(1)} s`,
        );
        node.metrics.reset();
      }
      watch.pause();
      await peer.newEpoch();
      await peer.campaignUntilLeader(LEAD_TIMEOUT_MS);
      await peer.waitForAllCaughtUp(LEAD_TIMEOUT_MS);
      watch.resume();
    },
    components: {
      pipeline: opts.pipeline,
      members: opts.peers.length,
      start: async () => {
        node.probes.reset();
        await collectFollowers();
      },
      collect: async () => {
        const leader = node.probes.snapshot();
        const followers = await collectFollowers();
        const oneWay = node.transport.stats().oneWayP50Ns;
        return {
          leader,
          followers: Object.fromEntries(Object.entries(followers).map(([id, f]) => [id, f.probes])),
          ...(oneWay === undefined ? {} : { transportOneWayP50Ns: oneWay }),
        };
      },
    },
    metrics: node.metrics,
    dataDir: opts.dataDir,
    config: {
      ...components,
      peers: peers.map((p) => p.address),
      storage: node.storage.description,
      bench: bench.source,
      benchtime,
      count,
      maxrate,
      allowDrops,
    },
    walSyncMode: node.storage.description,
    ...(json !== undefined ? { jsonPath: json } : {}),
    out: (line) => process.stdout.write(`${line}\n`),
    // Under local-cluster the launcher draws the progress line on its terminal.
    ...(hasParentChannel()
      ? { onProgress: (p: RunProgress) => sendToParent({ kind: "progress", ...p }) }
      : {}),
    log,
  });
  watch.stop();
  // The followers' own --metrics histograms complete the JSON (under local-cluster).
  const followers = await collectFollowers();
  if (json !== undefined && Object.keys(followers).length > 0) {
    report.followers = Object.entries(followers).map(([id, f]) => ({
      id: Number(id),
      role: `follower ${id}`,
      metrics: f.metrics,
    }));
    await writeReport(json, report);
  }
  const rss = readRss();
  log(`rafttoy-leader: ${describeRss(rss)}`);
  if (json !== undefined && rss !== undefined) {
    await addRssToReport(json, { leader: { pid: process.pid, ...rss } });
  }
  await node.stop();
  const verdict = dropsVerdict(report.dropped, allowDrops);
  if (verdict.line !== undefined) log(`rafttoy-leader: ${verdict.line}`);
  return verdict.code;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    log(`rafttoy-leader: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(exitCodeFor(err));
  },
);
