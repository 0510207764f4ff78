// What a node is built from: the options every rafttoy node takes, whatever front-end maps
// its flags or config onto them (src/cli maps the binaries' flags). Durations are in ms.
import type { CompactEvery } from "../peer/compaction.js";
import type { HostPort } from "../transport/address.js";
import type { NetDelay } from "../transport/net-delay.js";

/** One member of the cluster, as given by --peers: the i-th entry has id i + 1. */
export interface PeerAddress extends HostPort {
  id: number;
}

export interface NodeOptions {
  peers: PeerAddress[];
  id: number;
  dataDir: string;
  /** A name from the pipeline registry (src/node/components.ts lists every registry). */
  pipeline: string;
  wal: string;
  /** --disk-delay (old name --wal-delay): added after each durable sync, in ms. */
  diskDelayMs: number;
  engine: string;
  transport: string;
  /** One-way delay (and jitter) the transport adds to every link. */
  netDelay: NetDelay;
  metrics: boolean;
  tickMs: number;
  electionTicks: number;
  heartbeatTicks: number;
  /** --cpu-prof DIR: write this process's CPU profile there at exit (`<role>.cpuprofile`). */
  cpuProf?: string;
  /** When to compact the log behind the applied index. */
  compactEvery: CompactEvery;
  /** --max-inflight: MsgApps the leader keeps in flight per follower (the core's window). */
  maxInflightMsgs: number;
}
