// A cluster of rafttoy-kv processes on loopback for the run: free ports, one data directory
// per node, SIGKILL + restart from the same directory, SIGSTOP / SIGCONT, and the leader
// read from a node's GET /cluster.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "../transport/free-ports.js";
import type { ClusterControl } from "./nemesis.js";
import type { Target } from "./workload.js";

export const KV_BIN = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "cmd",
  "rafttoy-kv.js",
);

interface Node {
  raft: string;
  respPort: number;
  httpPort: number;
  dataDir: string;
  child: ChildProcess | undefined;
}

export class ProcessCluster implements ClusterControl {
  private readonly nodes: Node[] = [];

  private constructor(
    readonly size: number,
    private readonly dir: string,
    private readonly args: readonly string[],
    private readonly log: (line: string) => void,
    private readonly bin: string,
  ) {}

  /** Starts `size` nodes with `args` (component flags) and waits until a leader is known. */
  static async start(
    size: number,
    args: readonly string[],
    log: (line: string) => void,
    bin = KV_BIN,
  ): Promise<ProcessCluster> {
    if (!existsSync(bin))
      throw new Error(`${bin} is missing: rafttoy-kv is not built (make build)`);
    const dir = await mkdtemp(join(tmpdir(), "rafttoy-jepsen-"));
    const cluster = new ProcessCluster(size, dir, args, log, bin);
    const ports = await freePorts(3 * size);
    for (let i = 0; i < size; i++)
      cluster.nodes.push({
        raft: `127.0.0.1:${ports[i]}`,
        respPort: ports[size + i] as number,
        httpPort: ports[2 * size + i] as number,
        dataDir: join(dir, `node-${i + 1}`),
        child: undefined,
      });
    for (let i = 0; i < size; i++) cluster.spawn(i);
    await cluster.waitForLeader(30_000);
    return cluster;
  }

  targets(): Target[] {
    return this.nodes.map((n) => ({ host: "127.0.0.1", port: n.respPort }));
  }

  async kill(node: number): Promise<void> {
    const child = this.nodes[node]?.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await exited;
  }

  async restart(node: number): Promise<void> {
    this.spawn(node);
  }

  async pause(node: number): Promise<void> {
    this.nodes[node]?.child?.kill("SIGSTOP");
  }

  async resume(node: number): Promise<void> {
    this.nodes[node]?.child?.kill("SIGCONT");
  }

  async leader(): Promise<number | undefined> {
    for (const n of this.nodes) {
      try {
        const res = await fetch(`http://127.0.0.1:${n.httpPort}/cluster`, {
          signal: AbortSignal.timeout(1000),
        });
        const body = (await res.json()) as { leader?: number };
        if (typeof body.leader === "number" && body.leader > 0) return body.leader - 1;
      } catch {
        // this node is down or paused: ask the next
      }
    }
    return undefined;
  }

  async stop(): Promise<void> {
    for (let i = 0; i < this.size; i++) {
      await this.resume(i);
      await this.kill(i);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private spawn(i: number): void {
    const n = this.nodes[i] as Node;
    const child = spawn(
      process.execPath,
      [
        this.bin,
        "--peers",
        this.nodes.map((p) => p.raft).join(","),
        "--id",
        String(i + 1),
        "--resp",
        `127.0.0.1:${n.respPort}`,
        "--http",
        `127.0.0.1:${n.httpPort}`,
        "--data-dir",
        n.dataDir,
        ...this.args,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n"))
        if (/fatal|error/i.test(line)) this.log(`node ${i + 1}: ${line}`);
    });
    n.child = child;
  }

  private async waitForLeader(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.leader()) !== undefined) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    await this.stop();
    throw new Error(`no leader within ${timeoutMs / 1000} s`);
  }
}
