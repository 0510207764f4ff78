// One node of the key-value service, built from ServiceOptions: the node's storage and
// transport (through the composition root's pieces), the Peer in service mode behind a
// NodeBackend, and the RESP and HTTP front-ends over it with their metrics.
import { createMetrics, installExitDump, type Metrics } from "../metrics/index.js";
import { createServicePeer, openNodeTransport } from "../node/node.js";
import { openNodeStorage } from "../node/storage.js";
import { isStorageFault } from "../storage/storage-fault.js";
import { FaultSwitch, withFaultSwitch } from "../transport/fault-switch.js";
import {
  BackendError,
  type ClusterInfo,
  type KvBackend,
  type KvReadView,
  type KvResult,
  type KvWrite,
  type ReadCallbacks,
  type ReadMode,
  type WriteCallbacks,
} from "./contract.js";
import { EngineStateMachine } from "./engine-state-machine.js";
import { HttpServer } from "./http/server.js";
import type { KvLimits } from "./limits.js";
import { ServiceMetrics } from "./metrics.js";
import { NodeBackend } from "./node-backend.js";
import { formatListen, type ServiceOptions } from "./options.js";
import { RespServer } from "./resp/server.js";

export interface ServiceNode {
  backend: NodeBackend;
  resp: RespServer;
  http: HttpServer;
  metrics: Metrics;
  /** The addresses actually listened on (a port 0 resolved). */
  respAddress: string;
  httpAddress: string;
  /** Stops the front-ends, then the node; once, however many times it is called. */
  stop(): Promise<void>;
}

export async function startServiceNode(
  opts: ServiceOptions,
  log: (line: string) => void,
  onFatal: (err: unknown) => void,
): Promise<ServiceNode> {
  const metrics = createMetrics(opts.metrics);
  if (opts.metrics) installExitDump(metrics, (text) => process.stderr.write(text));
  const me = opts.peers.find((p) => p.id === opts.id);
  if (me === undefined) throw new Error(`--id ${opts.id} is not in --peers`);

  // The front-ends listen first: the addresses the node announces are the ones bound.
  const lateBackend = new DeferredBackend();
  // Shared with both front-ends; the engine's key size is known once storage is open.
  const limits: KvLimits = { ...opts.limits };
  const serviceMetrics = new ServiceMetrics(lateBackend, metrics);
  // Only with --admin-faults: without it the transport is not wrapped at all.
  const faults = opts.adminFaults === true ? new FaultSwitch() : undefined;
  const resp = new RespServer({
    ...(faults === undefined ? {} : { faults }),
    backend: lateBackend,
    readMode: opts.reads,
    limits,
    metrics: serviceMetrics,
    config: new Map([
      ["save", ""],
      ["appendonly", opts.wal === "mem" ? "no" : "yes"],
      ["databases", "1"],
    ]),
  });
  const http = new HttpServer({
    backend: lateBackend,
    readMode: opts.reads,
    limits,
    metrics: serviceMetrics,
    registry: serviceMetrics,
  });
  const respBound = await resp.listen(opts.resp.host, opts.resp.port);
  const httpBound = await http.listen(opts.http.host, opts.http.port).catch(async (e) => {
    await resp.close();
    throw e;
  });
  const respAddress = formatListen({ host: opts.resp.host, port: respBound.port });
  const httpAddress = formatListen({ host: opts.http.host, port: httpBound.port });

  const storage = await openNodeStorage(opts);
  const stateMachine = new EngineStateMachine(storage.engine);
  // A key longer than the engine can store would fail the apply on every node: refused
  // before it is proposed, like --max-key-bytes.
  limits.maxKeyBytes = effectiveMaxKeyBytes(opts.limits, storage.engine.maxKeyBytes);
  // Kept and added to when a member joins: the transports look an address up when they
  // first link to a peer, so a member learnt at run time is reachable without a restart.
  const peerAddresses = new Map(opts.peers.map((p) => [p.id, p.address]));
  const bare = openNodeTransport(opts, peerAddresses);
  const transport = faults === undefined ? bare : withFaultSwitch(bare, faults);
  const backend = new NodeBackend({
    id: opts.id,
    bootstrap: opts.join === undefined,
    stateMachine,
    appliedIndex: () => storage.engine.appliedIndex(),
    self: { raft: me.address, resp: respAddress, http: httpAddress },
    learnAddress: (id, raft) => {
      if (!peerAddresses.has(id)) peerAddresses.set(id, raft);
    },
    redirect: opts.redirect,
    tickMs: opts.tickMs,
    electionTicks: opts.electionTicks,
    log,
    createPeer: (service) =>
      createServicePeer(opts, { transport, storage, metrics, service, log, onFatal }),
  });
  try {
    await backend.start();
  } catch (err) {
    await Promise.allSettled([resp.close(), http.close(), storage.close(), transport.stop()]);
    throw err;
  }
  lateBackend.set(backend);
  let stopping: Promise<void> | undefined;
  return {
    backend,
    resp,
    http,
    metrics,
    respAddress,
    httpAddress,
    stop: () => {
      stopping ??= (async () => {
        serviceMetrics.stop();
        await Promise.allSettled([resp.close(), http.close()]);
        await backend.stop();
      })();
      return stopping;
    },
  };
}

/** Asks a member to add this node (it may forward to the leader); retried until it is in. */
export async function joinThrough(
  url: string,
  self: { id: number; raft: string; resp: string; http: string },
  log: (line: string) => void,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 200;
  for (;;) {
    let why: string;
    try {
      const res = await fetch(`${url}/cluster/join`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(self),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (res.ok) return;
      const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
      why = `${res.status} ${body.error?.message ?? ""}`.trim();
      // A node restarted with --join is a member already: nothing to do.
      if (res.status === 400 && /already a member/.test(why)) return;
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`could not join through ${url}: ${why}`);
    log(`join through ${url}: ${why}; retrying`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 2000);
  }
}

/**
 * The members' Raft addresses as the member at `url` knows them (GET /cluster), retried
 * until it answers: a node started with --listen instead of --peers knows no other member,
 * and its transport needs their addresses to answer the leader at all.
 */
export async function membersThrough(
  url: string,
  log: (line: string) => void,
  timeoutMs = 120_000,
): Promise<{ id: number; raft: string }[]> {
  const deadline = Date.now() + timeoutMs;
  let delay = 200;
  for (;;) {
    let why: string;
    try {
      const res = await fetch(`${url}/cluster`, { signal: AbortSignal.timeout(5000) });
      if (res.ok) {
        const info = (await res.json()) as ClusterInfo;
        return info.members.filter((m) => m.raft !== "").map((m) => ({ id: m.id, raft: m.raft }));
      }
      why = `${res.status}`;
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) throw new Error(`could not learn the members from ${url}: ${why}`);
    log(`members from ${url}: ${why}; retrying`);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 2000);
  }
}

export { isStorageFault };

function effectiveMaxKeyBytes(limits: KvLimits, engineMax: number): number {
  if (!Number.isFinite(engineMax)) return limits.maxKeyBytes;
  return limits.maxKeyBytes === 0 ? engineMax : Math.min(limits.maxKeyBytes, engineMax);
}

/** The backend the front-ends hold while the node starts: "unavailable" until it is set. */
class DeferredBackend implements KvBackend {
  private inner: KvBackend | undefined;

  set(backend: KvBackend): void {
    this.inner = backend;
  }

  private get b(): KvBackend {
    if (this.inner === undefined) throw new BackendError("unavailable", "the node is starting");
    return this.inner;
  }

  write(w: KvWrite): Promise<KvResult> {
    return this.inner ? this.inner.write(w) : Promise.reject(starting());
  }
  writeBatch(writes: readonly KvWrite[]): Promise<KvResult[]> {
    return this.inner ? this.inner.writeBatch(writes) : Promise.reject(starting());
  }
  writeBatchWith(writes: readonly KvWrite[], to: WriteCallbacks): void {
    if (this.inner) this.inner.writeBatchWith(writes, to);
    else to.fail(starting());
  }
  read(mode: ReadMode): Promise<KvReadView> {
    return this.inner ? this.inner.read(mode) : Promise.reject(starting());
  }
  readWith(mode: ReadMode, to: ReadCallbacks): void {
    if (this.inner) this.inner.readWith(mode, to);
    else to.fail(starting());
  }
  cluster(): ClusterInfo {
    return this.inner
      ? this.inner.cluster()
      : {
          id: 0,
          role: "follower",
          leader: 0,
          term: 0,
          commitIndex: 0,
          appliedIndex: 0,
          members: [],
        };
  }
  healthy(): boolean {
    return this.inner?.healthy() ?? false;
  }
  async join(member: { id: number; raft: string; resp?: string; http?: string }): Promise<void> {
    return this.b.join(member);
  }
  async remove(id: number): Promise<void> {
    return this.b.remove(id);
  }
}

function starting(): BackendError {
  return new BackendError("unavailable", "the node is starting");
}
