// A local cluster of rafttoy-kv processes on free loopback ports: what `make kv` runs in the
// foreground, and what the benchmark and the process tests start. Each node gets its own
// Raft, RESP and HTTP port and data directory; stderr lines are prefixed with the node's id.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { forwardedFlagsError, type ProgramSpec, USAGE_EXIT_CODE } from "../cli/args.js";
import { KV_PROGRAM } from "../cli/kv-args.js";
import { kvComponentRegistries } from "../node/components.js";
import type { ClusterInfo } from "../service/contract.js";
import { freePorts } from "../transport/free-ports.js";
import { childArgv, nodeFlags } from "./node-flags.js";

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "rafttoy-kv.js");

export interface KvNode {
  id: number;
  raft: string;
  resp: string;
  http: string;
  respPort: number;
  httpPort: number;
  dataDir: string;
  /** The --peers this node was first started with (a restart must give the same). */
  peers: string;
  /** Started with --listen and --join instead of --peers (it learns the members). */
  listenOnly: boolean;
  child: ChildProcess | null;
  /** The last lines the node wrote on stderr, for errors about it. */
  lastLines: string[];
  /** Resolves with the exit code (or signal) of the current process. */
  exited: Promise<number | string>;
}

export interface KvClusterOptions {
  size?: number;
  /** Flags given to every node (components, --reads, --redirect …). */
  args?: readonly string[];
  /** Where the nodes' data directories go; default: a fresh temporary directory. */
  dir?: string;
  /** Each line a node writes on stderr (default: dropped). */
  onLine?: (id: number, line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KvCluster {
  readonly nodes = new Map<number, KvNode>();
  private peers: string[] = [];
  private ownsDir = false;

  private constructor(
    private readonly dir: string,
    private readonly opts: KvClusterOptions,
  ) {}

  /** Starts `size` nodes and waits until they agree on a leader. */
  static async start(opts: KvClusterOptions = {}): Promise<KvCluster> {
    const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), "rafttoy-kv-")));
    const c = new KvCluster(dir, opts);
    c.ownsDir = opts.dir === undefined;
    const size = opts.size ?? 3;
    const ports = await freePorts(size * 3);
    for (let i = 0; i < size; i++) c.peers.push(`127.0.0.1:${ports[i]}`);
    for (let i = 0; i < size; i++) {
      c.nodes.set(
        i + 1,
        c.describe(i + 1, ports[size + i] as number, ports[2 * size + i] as number),
      );
    }
    try {
      for (const id of c.nodes.keys()) c.spawn(id, []);
      await c.leader();
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  private describe(id: number, respPort: number, httpPort: number): KvNode {
    return {
      id,
      raft: this.peers[id - 1] as string,
      resp: `127.0.0.1:${respPort}`,
      http: `127.0.0.1:${httpPort}`,
      respPort,
      httpPort,
      dataDir: join(this.dir, `node-${id}`),
      peers: "",
      listenOnly: false,
      child: null,
      lastLines: [],
      exited: Promise.resolve(0),
    };
  }

  private spawn(id: number, extra: readonly string[]): void {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    if (n.peers === "") n.peers = this.peers.join(",");
    const child = spawn(
      process.execPath,
      childArgv(nodeFlags(process.env), BIN, [
        ...(n.listenOnly ? ["--listen", n.raft] : ["--peers", n.peers]),
        "--id",
        String(id),
        "--resp",
        n.resp,
        "--http",
        n.http,
        "--data-dir",
        n.dataDir,
        ...(this.opts.args ?? []),
        ...extra,
      ]),
      { stdio: ["ignore", "inherit", "pipe"] },
    );
    n.child = child;
    n.exited = new Promise((resolveExit) =>
      child.once("exit", (code, signal) => resolveExit(code ?? signal ?? -1)),
    );
    const lines = createInterface({ input: child.stderr as NodeJS.ReadableStream });
    lines.on("line", (line) => {
      n.lastLines.push(line);
      if (n.lastLines.length > 5) n.lastLines.shift();
      this.opts.onLine?.(id, line);
    });
  }

  /** Restarts a stopped node from its data directory. */
  async restart(id: number): Promise<void> {
    const n = this.nodes.get(id);
    if (n?.child && n.child.exitCode === null && n.child.signalCode === null) {
      throw new Error(`node ${id} is still running`);
    }
    this.spawn(id, []);
    await this.waitServing(id);
  }

  /**
   * Adds a node that joins through `via`'s HTTP address; resolves once it serves. With
   * `listenOnly` it is started with --listen (its own Raft address) instead of --peers.
   */
  async join(via: number, opts: { listenOnly?: boolean } = {}): Promise<KvNode> {
    const id = Math.max(...this.nodes.keys()) + 1;
    const [raft, resp, http] = await freePorts(3);
    this.peers.push(`127.0.0.1:${raft}`);
    const n = this.describe(id, resp as number, http as number);
    n.listenOnly = opts.listenOnly === true;
    this.nodes.set(id, n);
    this.spawn(id, ["--join", `http://${this.node(via).http}`]);
    await this.waitServing(id);
    return this.node(id);
  }

  node(id: number): KvNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  running(): KvNode[] {
    return [...this.nodes.values()].filter(
      (n) => n.child !== null && n.child.exitCode === null && n.child.signalCode === null,
    );
  }

  /** GET /cluster of a node, or null when it does not answer. */
  async clusterOf(id: number): Promise<ClusterInfo | null> {
    try {
      const res = await fetch(`http://${this.node(id).http}/cluster`, {
        signal: AbortSignal.timeout(2000),
      });
      return res.ok ? ((await res.json()) as ClusterInfo) : null;
    } catch {
      return null;
    }
  }

  async waitServing(id: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const res = await fetch(`http://${this.node(id).http}/health`, {
          signal: AbortSignal.timeout(2000),
        });
        if (res.ok) return;
      } catch {
        // Not listening yet.
      }
      const n = this.node(id);
      if (n.child?.exitCode !== null && n.child?.exitCode !== undefined) {
        throw new Error(
          `node ${id} exited with ${n.child.exitCode} before serving: ${n.lastLines.join(" | ")}`,
        );
      }
      if (Date.now() > deadline) throw new Error(`node ${id} did not serve within ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** The leader every running node agrees on (bounded wait). */
  async leader(timeoutMs = 30_000): Promise<KvNode> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    for (;;) {
      const running = this.running();
      if (running.length === 0) throw new Error(`no node is running: ${this.exits()}`);
      const infos = await Promise.all(running.map((n) => this.clusterOf(n.id)));
      const lead = infos[0]?.leader ?? 0;
      if (lead !== 0 && infos.every((i) => i?.leader === lead) && this.nodes.get(lead)) {
        const leader = this.node(lead);
        if (running.includes(leader)) return leader;
      }
      last = JSON.stringify(infos.map((i) => (i ? `${i.id}:${i.role}/lead=${i.leader}` : "down")));
      if (Date.now() > deadline)
        throw new Error(`no agreed leader within ${timeoutMs} ms: ${last}`);
      await sleep(50);
    }
  }

  /** Each stopped node's last words. */
  private exits(): string {
    return [...this.nodes.values()]
      .map(
        (n) =>
          `node ${n.id} (exit ${n.child?.exitCode ?? n.child?.signalCode}): ${n.lastLines.join(" | ")}`,
      )
      .join("; ");
  }

  async follower(): Promise<KvNode> {
    const leader = await this.leader();
    const f = this.running().find((n) => n !== leader);
    if (f === undefined) throw new Error("no follower is running");
    return f;
  }

  /** Sends `signal` to a node and waits for it to exit. */
  async kill(id: number, signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const n = this.node(id);
    if (n.child === null || n.child.exitCode !== null || n.child.signalCode !== null) return;
    n.child.kill(signal);
    await n.exited;
  }

  /** Stops every node (SIGTERM, SIGKILL after 5 s) and removes a directory it made. */
  async stop(): Promise<void> {
    await Promise.all(
      [...this.nodes.values()].map(async (n) => {
        if (n.child === null || n.child.exitCode !== null || n.child.signalCode !== null) return;
        n.child.kill("SIGTERM");
        const timer = setTimeout(() => n.child?.kill("SIGKILL"), 5000);
        await n.exited;
        clearTimeout(timer);
      }),
    );
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** `make kv`: three nodes in the foreground until Ctrl-C. */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(
      "kv-cluster [rafttoy-kv flags]\n\nStarts three rafttoy-kv nodes on free loopback ports in a fresh temporary\n" +
        "directory, prints their addresses and runs until Ctrl-C, which stops them all and\n" +
        "removes the directory. Flags after the command go to every node (e.g. --reads stale).\n" +
        "RAFTTOY_NODE_FLAGS (environment): Node/V8 flags, space-separated, put before every\n" +
        "node's script (e.g. --heap-growing-percent=400, which NODE_OPTIONS refuses).\n",
    );
    return;
  }
  const refused = forwardedFlagsError(
    KV_PROGRAM as ProgramSpec<unknown>,
    args,
    kvComponentRegistries,
  );
  if (refused !== undefined) {
    process.stderr.write(`kv-cluster: ${refused}\n`);
    process.exitCode = USAGE_EXIT_CODE;
    return;
  }
  const c = await KvCluster.start({
    args,
    onLine: (id, line) => process.stderr.write(`[node ${id}] ${line}\n`),
  });
  const leader = await c.leader();
  for (const n of c.nodes.values()) {
    process.stdout.write(
      `node ${n.id}${n === leader ? " (leader)" : ""}: RESP ${n.resp}  HTTP http://${n.http}  raft ${n.raft}\n`,
    );
  }
  const first = c.node(1);
  process.stdout.write(
    `\ntry: redis-cli -p ${first.respPort} set k v; redis-cli -p ${first.respPort} get k; curl http://${first.http}/cluster\nCtrl-C stops all nodes.\n`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("stopping all nodes\n");
    c.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  // A node that dies on its own is said once; the others keep serving.
  for (const n of c.nodes.values()) {
    n.exited.then((code) => {
      if (!stopping) process.stderr.write(`node ${n.id} exited (${code})\n`);
    });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`kv-cluster: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
