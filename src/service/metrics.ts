// What GET /metrics serves, in the Prometheus text format through prom-client (the library
// users of such a service expect). The front-ends record what they see of every request
// (writes proposed, the time from proposing a batch to its results — the commit latency a
// client sees —, read waits); the backend's state is sampled (term, indexes, leader changes);
// and when the node records its own per-stage histograms (--metrics), their percentiles are
// exported too, the WAL's append latency (its fsync) among them.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Metrics } from "../metrics/index.js";
import type { KvBackend } from "./contract.js";

export type Protocol = "resp" | "http";
export type RequestKind = "read" | "write" | "local";
const PROTOCOLS: readonly Protocol[] = ["resp", "http"];
const REQUEST_KINDS: readonly RequestKind[] = ["read", "write", "local"];

/** What the front-ends call on their hot path: a few calls per chunk, not per command. */
export interface FrontMetrics {
  requests(protocol: Protocol, kind: RequestKind, n: number): void;
  /** One writeBatch (or write) of `n` writes that took `seconds` to come back. */
  writeBatch(protocol: Protocol, n: number, seconds: number): void;
  /** One read() wait (ReadIndex for linearizable reads). */
  readWait(protocol: Protocol, seconds: number): void;
  error(protocol: Protocol, code: string): void;
}

export const NO_FRONT_METRICS: FrontMetrics = {
  requests() {},
  writeBatch() {},
  readWait() {},
  error() {},
};

// From 100 µs to ~3 s: loopback commits take a few hundred µs to a few ms; elections take s.
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

/** The service's registry: front-end counters, backend gauges, node histograms. */
export class ServiceMetrics implements FrontMetrics {
  readonly registry = new Registry();
  /**
   * The hot-path counts, kept as plain numbers and added to their prom-client counters when
   * the registry is read: a labelled inc() hashes its label set on every call, several
   * times per request at one command per chunk.
   */
  private readonly counts = {
    requests: { resp: { read: 0, write: 0, local: 0 }, http: { read: 0, write: 0, local: 0 } },
    proposals: { resp: 0, http: 0 },
    batches: { resp: 0, http: 0 },
  };
  private readonly commitLatency: Histogram<"protocol">;
  private readonly readLatency: Histogram<"protocol">;
  private readonly errors: Counter<"protocol" | "code">;
  private readonly leaderChanges: Counter;
  private lastLeader = -1;
  private readonly sampler: NodeJS.Timeout;

  constructor(
    private readonly backend: KvBackend,
    nodeMetrics?: Metrics,
  ) {
    const registers = [this.registry];
    const counts = this.counts;
    new Counter({
      name: "rafttoy_kv_requests_total",
      help: "Commands (RESP) and requests (HTTP) answered, by kind",
      labelNames: ["protocol", "kind"],
      registers,
      collect() {
        for (const protocol of PROTOCOLS) {
          const byKind = counts.requests[protocol];
          for (const kind of REQUEST_KINDS) {
            if (byKind[kind] > 0) this.inc({ protocol, kind }, byKind[kind]);
            byKind[kind] = 0;
          }
        }
      },
    });
    const perProtocol = (name: string, help: string, of: Record<Protocol, number>) =>
      new Counter({
        name,
        help,
        labelNames: ["protocol"],
        registers,
        collect() {
          for (const protocol of PROTOCOLS) {
            if (of[protocol] > 0) this.inc({ protocol }, of[protocol]);
            of[protocol] = 0;
          }
        },
      });
    perProtocol(
      "rafttoy_kv_proposals_total",
      "Writes handed to the replicated log through this node",
      counts.proposals,
    );
    perProtocol(
      "rafttoy_kv_write_batches_total",
      "Batches the writes were proposed in (one per client chunk)",
      counts.batches,
    );
    this.commitLatency = new Histogram({
      name: "rafttoy_kv_commit_latency_seconds",
      help: "From proposing a batch of writes to their results (committed and applied here)",
      labelNames: ["protocol"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.readLatency = new Histogram({
      name: "rafttoy_kv_read_wait_seconds",
      help: "Time a batch of reads waited for its view (ReadIndex when linearizable)",
      labelNames: ["protocol"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.errors = new Counter({
      name: "rafttoy_kv_errors_total",
      help: "Error replies by code",
      labelNames: ["protocol", "code"],
      registers,
    });
    this.leaderChanges = new Counter({
      name: "rafttoy_kv_leader_changes_total",
      help: "Times this node saw the leader change (sampled every 100 ms and at each scrape)",
      registers,
    });
    const cluster = () => this.sampleCluster();
    const gauge = (
      name: string,
      help: string,
      read: (c: ReturnType<KvBackend["cluster"]>) => number,
    ) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(cluster()));
        },
      });
    gauge("rafttoy_kv_term", "Current Raft term", (c) => c.term);
    gauge("rafttoy_kv_leader_id", "The leader's id (0: none known)", (c) => c.leader);
    gauge("rafttoy_kv_is_leader", "1 while this node leads", (c) => (c.role === "leader" ? 1 : 0));
    gauge("rafttoy_kv_commit_index", "Highest log index known committed", (c) => c.commitIndex);
    gauge("rafttoy_kv_applied_index", "Highest log index applied here", (c) => c.appliedIndex);
    gauge(
      "rafttoy_kv_members",
      "Members of the cluster (voters and learners)",
      (c) => c.members.length,
    );
    gauge("rafttoy_kv_healthy", "1 while this node can serve", () => (backend.healthy() ? 1 : 0));
    if (nodeMetrics?.enabled) addNodeHistograms(this.registry, nodeMetrics);
    // Leader changes between scrapes would otherwise be missed.
    this.sampler = setInterval(() => this.sampleCluster(), 100);
    this.sampler.unref();
  }

  private sampleCluster(): ReturnType<KvBackend["cluster"]> {
    const c = this.backend.cluster();
    if (c.leader !== 0 && c.leader !== this.lastLeader) {
      if (this.lastLeader !== -1) this.leaderChanges.inc();
      this.lastLeader = c.leader;
    }
    return c;
  }

  requests(protocol: Protocol, kind: RequestKind, n: number): void {
    this.counts.requests[protocol][kind] += n;
  }

  writeBatch(protocol: Protocol, n: number, seconds: number): void {
    this.counts.proposals[protocol] += n;
    this.counts.batches[protocol]++;
    this.commitLatency.observe({ protocol }, seconds);
  }

  readWait(protocol: Protocol, seconds: number): void {
    this.readLatency.observe({ protocol }, seconds);
  }

  error(protocol: Protocol, code: string): void {
    this.errors.inc({ protocol, code });
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  stop(): void {
    clearInterval(this.sampler);
  }
}

/** The node's own HDR histograms (ns) as Prometheus gauges of their percentiles, in seconds. */
function addNodeHistograms(registry: Registry, metrics: Metrics): void {
  new Gauge({
    name: "rafttoy_node_stage_seconds",
    help:
      "Per-stage latency percentiles the node records with --metrics (append-latency is the " +
      "WAL append up to its fsync; proposal-latency is propose to acknowledgement)",
    labelNames: ["stage", "quantile"],
    registers: [registry],
    collect() {
      this.reset();
      for (const h of metrics.snapshot()) {
        if (h.unit !== "ns" || h.count === 0) continue;
        const stage = h.name.replace(/-ns$/, "");
        this.set({ stage, quantile: "0.5" }, h.p50 / 1e9);
        this.set({ stage, quantile: "0.99" }, h.p99 / 1e9);
        this.set({ stage, quantile: "1" }, h.max / 1e9);
      }
    },
  });
}
