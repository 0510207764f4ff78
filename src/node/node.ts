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
import type { ServiceMode } from "../peer/service-mode.js";
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
  const transport = openNodeTransport(opts, new Map(opts.peers.map((p) => [p.id, p.address])));
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
    maxInflightMsgs: opts.maxInflightMsgs,
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

/**
 * The transport --transport names, reaching the peers in `peers` (the map is read when a link
 * is first used, so an address added later, e.g. a member that joined, is reachable).
 */
export function openNodeTransport(opts: NodeOptions, peers: Map<number, string>): Transport {
  quietGrpcLogging();
  return transportSpec(opts.transport).create({
    id: opts.id,
    peers,
    logger: { info: (m) => log(`transport: ${m}`), warn: (m) => log(`transport: warning: ${m}`) },
    netDelay: opts.netDelay,
  });
}

/** Parts a service-mode Peer is built from, beside the options every node shares. */
export interface ServicePeerParts {
  transport: Transport;
  storage: PeerStorage;
  metrics: Metrics;
  service: ServiceMode;
  log: (line: string) => void;
  onFatal: (err: unknown) => void;
}

/** A Peer in service mode (ordinary Raft: no epochs, every voter campaigns) over `parts`. */
export function createServicePeer(opts: NodeOptions, parts: ServicePeerParts): Peer {
  return new Peer({
    id: opts.id,
    peerIds: opts.peers.map((p) => p.id),
    raft: rawNodeBinding,
    pipeline: opts.pipeline,
    tickMs: opts.tickMs,
    electionTicks: opts.electionTicks,
    heartbeatTicks: opts.heartbeatTicks,
    compactEvery: opts.compactEvery,
    maxInflightMsgs: opts.maxInflightMsgs,
    ...parts,
  });
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
