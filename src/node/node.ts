// The composition root: the only module that knows every concrete component. It builds a
// running node from NodeOptions: storage (WAL + engine, or the combined lmdb storage), the
// transport (from its registry), metrics with the exit dump, the RawNode binding and the
// Peer. Front-ends (the binaries, the key-value server) map their flags onto NodeOptions
// and call startNode; nothing below this folder imports it.
import { createMetrics, installExitDump, type Metrics } from "../metrics/index.js";
import { ComponentProbes } from "../metrics/probes.js";
import type { PeerStorage } from "../peer/contracts.js";
import { fileEpochStore } from "../peer/epoch.js";
import { Peer } from "../peer/peer.js";
import { isStorageFault } from "../storage/storage-fault.js";
import { quietGrpcLogging } from "../transport/grpc-transport.js";
import { transportSpec } from "../transport/registry.js";
import type { Transport } from "../transport/transport.js";
import type { NodeOptions } from "./options.js";
import { rawNodeBinding } from "./raft-binding.js";
import { openNodeStorage } from "./storage.js";

export interface RunningNode {
  peer: Peer;
  storage: PeerStorage;
  metrics: Metrics;
  /** Always-on component latencies (the benchmark floor's inputs). */
  probes: ComponentProbes;
  transport: Transport;
  /** Stops the peer (drain, flush, close) once, however many times it is called. */
  stop(): Promise<void>;
}

/** The exit status for a failure: a storage fault's own code (the user must act), else 1. */
export function exitCodeFor(err: unknown): number {
  return isStorageFault(err) ? err.exitCode : 1;
}

export function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Opens and starts a node. `leaderStart` makes it the owner of the test epoch. */
export async function startNode(opts: NodeOptions, leaderStart?: number): Promise<RunningNode> {
  quietGrpcLogging();
  const metrics = createMetrics(opts.metrics);
  if (opts.metrics) installExitDump(metrics, (text) => process.stderr.write(text));
  const storage = await openNodeStorage(opts);
  const transport = transportSpec(opts.transport).create({
    id: opts.id,
    peers: new Map(opts.peers.map((p) => [p.id, p.address])),
    logger: { info: (m) => log(`transport: ${m}`), warn: (m) => log(`transport: warning: ${m}`) },
    netDelay: opts.netDelay,
  });
  let stopping: Promise<void> | undefined;
  const probes = new ComponentProbes();
  const peer = new Peer({
    id: opts.id,
    peerIds: opts.peers.map((p) => p.id),
    transport,
    storage,
    raft: rawNodeBinding,
    pipeline: opts.pipeline,
    tickMs: opts.tickMs,
    electionTicks: opts.electionTicks,
    heartbeatTicks: opts.heartbeatTicks,
    compactEvery: opts.compactEvery,
    metrics,
    probes,
    ...(leaderStart !== undefined ? { epochOwner: { start: leaderStart } } : {}),
    epochStore: fileEpochStore(opts.dataDir),
    log,
    onFatal: (err) => {
      // A storage fault's message is the whole report; a bug's stack is worth showing.
      const text = err instanceof Error ? (isStorageFault(err) ? err.message : err.stack) : err;
      log(`fatal: ${String(text)}`);
      process.exit(exitCodeFor(err));
    },
  });
  try {
    await peer.start();
  } catch (err) {
    await storage.close().catch(() => {});
    await transport.stop().catch(() => {});
    throw err;
  }
  const node: RunningNode = {
    peer,
    storage,
    metrics,
    probes,
    transport,
    stop: () => {
      stopping ??= peer.stop();
      return stopping;
    },
  };
  return node;
}

/** On SIGINT/SIGTERM: stop the node cleanly, then exit with the conventional code. */
export function stopOnSignals(node: RunningNode): void {
  const codes = { SIGINT: 130, SIGTERM: 143 } as const;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      const force = setTimeout(() => process.exit(codes[signal]), 5000);
      force.unref();
      node.stop().then(
        () => process.exit(codes[signal]),
        (err: unknown) => {
          log(`error while stopping: ${err instanceof Error ? err.message : err}`);
          process.exit(1);
        },
      );
    });
  }
}
