// TEST SUPPORT: service-mode nodes in one process over the local transport (or real TCP
// sockets on loopback), each on real storage (file WAL + lmdb engine) in its own directory,
// so a node can be stopped and started again from its data.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { rawNodeBinding } from "../node/raft-binding.js";
import type { CompactEvery } from "../peer/compaction.js";
import { Peer } from "../peer/peer.js";
import type { ClusterInfo } from "../service/contract.js";
import { EngineStateMachine } from "../service/engine-state-machine.js";
import { NodeBackend } from "../service/node-backend.js";
import { openEngine } from "../storage/engine/registry.js";
import { reconcile, type Storage, split } from "../storage/storage.js";
import { openWal } from "../storage/wal/registry.js";
import { freePorts } from "../transport/free-ports.js";
import { LocalNetwork } from "../transport/local-transport.js";
import { transportSpec } from "../transport/registry.js";
import type { Transport } from "../transport/transport.js";

export const TICK_MS = 10;
export const ELECTION_TICKS = 10;

export interface ServiceClusterOptions {
  pipeline?: string;
  compactEvery?: CompactEvery;
  redirect?: boolean;
  /** "local" (default) or a kind that connects processes ("tcp", "grpc") over loopback. */
  transport?: string;
}

/** Node ids a test may use (ports are set aside for each). */
const MAX_NODES = 5;

export class ServiceCluster {
  readonly network = new LocalNetwork();
  readonly nodes = new Map<number, NodeBackend>();
  /** Each running node's storage. */
  readonly storages = new Map<number, Storage>();
  /** The Raft addresses each node was told of (what its transport would be taught). */
  readonly learned = new Map<number, Map<number, string>>();
  readonly initial: number[];
  private dir = "";
  /** Loopback Raft addresses by node id, for a transport between processes. */
  private addresses = new Map<number, string>();

  private constructor(
    size: number,
    private readonly opts: ServiceClusterOptions,
  ) {
    this.initial = Array.from({ length: size }, (_, i) => i + 1);
  }

  static async start(size: number, opts: ServiceClusterOptions = {}): Promise<ServiceCluster> {
    const c = new ServiceCluster(size, opts);
    c.dir = await mkdtemp(join(tmpdir(), "rafttoy-service-"));
    if ((opts.transport ?? "local") !== "local") {
      const ports = await freePorts(MAX_NODES);
      for (const [i, port] of ports.entries()) c.addresses.set(i + 1, `127.0.0.1:${port}`);
    }
    try {
      await Promise.all(c.initial.map((id) => c.startNode(id, true)));
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  /** Starts node `id` from its data directory (empty the first time). */
  async startNode(id: number, bootstrap: boolean): Promise<NodeBackend> {
    const dir = join(this.dir, `node-${id}`);
    const wal = await openWal("file", { dir: join(dir, "wal"), syncDelayMs: 0 });
    const engine = await openEngine("lmdb", { dir: join(dir, "engine") });
    const storage = split(wal, engine);
    await reconcile(storage, dir);
    let backend: NodeBackend;
    try {
      backend = this.newBackend(id, bootstrap, storage);
    } catch (err) {
      await storage.close();
      throw err;
    }
    await backend.start();
    this.nodes.set(id, backend);
    this.storages.set(id, storage);
    return backend;
  }

  private newBackend(id: number, bootstrap: boolean, storage: Storage): NodeBackend {
    const sm = new EngineStateMachine(storage.engine);
    const learned = new Map<number, string>();
    this.learned.set(id, learned);
    const peers = new Map<number, string>();
    for (const p of [...this.initial, id]) peers.set(p, this.raftAddress(p));
    return new NodeBackend({
      id,
      bootstrap,
      stateMachine: sm,
      appliedIndex: () => storage.appliedIndex(),
      self: {
        raft: this.raftAddress(id),
        resp: `127.0.0.1:${6000 + id}`,
        http: `127.0.0.1:${8000 + id}`,
      },
      learnAddress: (member, raft) => {
        learned.set(member, raft);
        // What a transport looks addresses up in: a member learnt at run time is reachable.
        if (!peers.has(member)) peers.set(member, raft);
      },
      peers,
      tickMs: TICK_MS,
      electionTicks: ELECTION_TICKS,
      writeTimeoutMs: 5000,
      ...(this.opts.redirect === true ? { redirect: true } : {}),
      createPeer: (service) =>
        new Peer({
          id,
          peerIds: this.initial,
          transport: this.transport(id, peers),
          storage,
          raft: rawNodeBinding,
          pipeline: this.opts.pipeline ?? "parallel-append",
          tickMs: TICK_MS,
          electionTicks: ELECTION_TICKS,
          heartbeatTicks: 1,
          seed: id * 7919,
          service,
          ...(this.opts.compactEvery !== undefined ? { compactEvery: this.opts.compactEvery } : {}),
          onFatal: (err) => {
            throw err;
          },
        }),
    });
  }

  raftAddress(id: number): string {
    return this.addresses.get(id) ?? `local:${id}`;
  }

  private transport(id: number, peers: Map<number, string>): Transport {
    const kind = this.opts.transport ?? "local";
    if (kind === "local") return this.network.transport(id);
    return transportSpec(kind).create({ id, peers, logger: { info() {}, warn() {} } });
  }

  async stopNode(id: number): Promise<void> {
    const n = this.nodes.get(id);
    this.nodes.delete(id);
    this.storages.delete(id);
    await n?.stop();
  }

  node(id: number): NodeBackend {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`node ${id} is not running`);
    return n;
  }

  /** The leader every running node agrees on, once they do (bounded wait). */
  async leader(timeoutMs = 20_000): Promise<NodeBackend> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const infos = [...this.nodes.values()].map((n) => n.cluster());
      const lead = infos[0]?.leader ?? 0;
      const leader = this.nodes.get(lead);
      if (
        lead !== 0 &&
        leader?.cluster().role === "leader" &&
        infos.every((i) => i.leader === lead)
      ) {
        return leader;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `no agreed leader within ${timeoutMs} ms: ${JSON.stringify(infos.map(brief))}`,
        );
      }
      await sleep(TICK_MS);
    }
  }

  /** Some running node that is not the leader. */
  async follower(): Promise<NodeBackend> {
    const leader = await this.leader();
    return [...this.nodes.values()].find((n) => n !== leader)!;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.stop()));
    this.nodes.clear();
    await rm(this.dir, { recursive: true, force: true });
  }
}

function brief(i: ClusterInfo): string {
  return `${i.id}:${i.role}/lead=${i.leader}/term=${i.term}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `cond` until it holds; throws with `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  cond: () => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(TICK_MS);
  }
}
