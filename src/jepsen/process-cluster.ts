// A cluster of rafttoy-kv processes on loopback for the run: free ports, one data directory
// per node, SIGKILL + restart from the same directory, SIGSTOP / SIGCONT, the leader read
// from a node's GET /cluster, partitions through each node's RAFTTOY.PARTITION (every node
// runs with --admin-faults), and membership changes through DELETE /cluster/ID and --join.
//
// A slot (0-based) is a place in the cluster; the member in it has an id. A member that is
// removed and added back comes back empty under the next unused id, on a new Raft port, as a
// fresh node would: an id is never reused, so no node can mistake the new member for the old.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "../transport/free-ports.js";
import type { ClusterControl } from "./nemesis.js";
import { RespConnection, RespError, RespUnknown } from "./resp-client.js";
import type { Target } from "./workload.js";

export const KV_BIN = resolve(
  dirname(fileURLToPath(import.meta.url)),
  "..",
  "cmd",
  "rafttoy-kv.js",
);

interface Node {
  /** The member's id: slot + 1 at the start, a new one each time it is added back. */
  id: number;
  /** Started with --join (added at run time, not bootstrapped). */
  joined: boolean;
  raft: string;
  respPort: number;
  httpPort: number;
  dataDir: string;
  child: ChildProcess | undefined;
  /** The last line it wrote on stderr (why it exited, when it did). */
  lastLine?: string;
}

interface NodeView {
  id: number;
  leader: number;
  commitIndex: number;
  appliedIndex: number;
}

/** A node's GET /cluster, or undefined when it does not answer within a second. */
async function clusterInfo(httpPort: number): Promise<NodeView | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${httpPort}/cluster`, {
      signal: AbortSignal.timeout(1000),
    });
    return (await res.json()) as NodeView;
  } catch {
    return undefined;
  }
}

/** How long an admin command is retried while its node is not answering yet. */
const ADMIN_RETRY_MS = 15_000;

/** How long a membership change may take before the run gives up on it. */
const MEMBER_CHANGE_MS = 60_000;

export class ProcessCluster implements ClusterControl {
  private readonly nodes: Node[] = [];
  /** Every id's Raft address, id 1 first (removed ids keep theirs): what --peers lists. */
  private readonly addresses: string[] = [];
  private stopping = false;

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
        id: i + 1,
        joined: false,
        raft: `127.0.0.1:${ports[i]}`,
        respPort: ports[size + i] as number,
        httpPort: ports[2 * size + i] as number,
        dataDir: join(dir, `node-${i + 1}`),
        child: undefined,
      });
    for (const n of cluster.nodes) cluster.addresses.push(n.raft);
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
        const slot = this.nodes.findIndex((m) => m.id === body.leader);
        if (slot >= 0) return slot;
      } catch {
        // this node is down or paused: ask the next
      }
    }
    return undefined;
  }

  async partition(cuts: ReadonlyMap<number, readonly number[]>): Promise<void> {
    await Promise.all(
      [...cuts].map(([slot, from]) =>
        this.admin(slot, [
          "RAFTTOY.PARTITION",
          ...from.map((other) => String((this.nodes[other] as Node).id)),
        ]),
      ),
    );
  }

  async heal(): Promise<void> {
    await Promise.all(this.nodes.map((_, slot) => this.admin(slot, ["RAFTTOY.HEAL"])));
  }

  async removeMember(slot: number): Promise<void> {
    const n = this.nodes[slot] as Node;
    await this.untilDone(
      `remove node ${n.id}`,
      async (via) => {
        const res = await fetch(`http://127.0.0.1:${via.httpPort}/cluster/${n.id}`, {
          method: "DELETE",
          signal: AbortSignal.timeout(10_000),
        });
        // Removing a member already gone (a retry after a lost reply) is done too.
        if (res.ok || /not a member/.test(await res.text())) return true;
        return false;
      },
      slot,
    );
    await this.kill(slot);
    await rm(n.dataDir, { recursive: true, force: true });
  }

  async addMember(slot: number): Promise<void> {
    const n = this.nodes[slot] as Node;
    const [raftPort] = await freePorts(1);
    n.id = this.addresses.length + 1;
    n.joined = true;
    n.raft = `127.0.0.1:${raftPort}`;
    this.addresses.push(n.raft);
    this.spawn(slot);
    await this.untilDone(
      `add node ${n.id}`,
      async (via) => {
        const res = await fetch(`http://127.0.0.1:${via.httpPort}/cluster`, {
          signal: AbortSignal.timeout(2000),
        });
        const body = (await res.json()) as { members?: { id: number; role: string }[] };
        return body.members?.some((m) => m.id === n.id && m.role === "voter") === true;
      },
      slot,
    );
  }

  async settled(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let target: number | undefined;
    while (!this.stopping && Date.now() < deadline) {
      const infos = await Promise.all(this.nodes.map((n) => clusterInfo(n.httpPort)));
      const leader = infos[0]?.leader ?? 0;
      const agreed = leader !== 0 && infos.every((i) => i !== undefined && i.leader === leader);
      const leading = infos.find((i) => i?.id === leader);
      if (agreed && leading !== undefined) {
        target ??= leading.commitIndex;
        if (infos.every((i) => (i?.appliedIndex ?? 0) >= (target as number))) return true;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return false;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (let i = 0; i < this.size; i++) {
      await this.resume(i);
      await this.kill(i);
    }
    await rm(this.dir, { recursive: true, force: true });
  }

  private spawn(i: number): void {
    const n = this.nodes[i] as Node;
    // A joined member restarted from its data is a member already; --join then does nothing.
    const via = this.nodes.find((m) => m !== n && m.child?.exitCode === null);
    const join =
      n.joined && via !== undefined ? ["--join", `http://127.0.0.1:${via.httpPort}`] : [];
    const child = spawn(
      process.execPath,
      [
        this.bin,
        "--peers",
        this.addresses.join(","),
        "--id",
        String(n.id),
        "--resp",
        `127.0.0.1:${n.respPort}`,
        "--http",
        `127.0.0.1:${n.httpPort}`,
        "--data-dir",
        n.dataDir,
        "--admin-faults",
        ...join,
        ...this.args,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    child.stderr?.on("data", (chunk: Buffer) => {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line.trim() !== "") n.lastLine = line;
        if (/fatal|error/i.test(line)) this.log(`node ${n.id}: ${line}`);
      }
    });
    n.child = child;
  }

  /**
   * One admin command to slot `slot`; a node that is down has nothing to set or heal. A node
   * still starting (its RESP port not yet bound) is retried for ADMIN_RETRY_MS; a refusal
   * is not retried.
   */
  private async admin(slot: number, args: string[]): Promise<void> {
    const n = this.nodes[slot] as Node;
    const deadline = Date.now() + ADMIN_RETRY_MS;
    for (;;) {
      if (n.child === undefined || n.child.exitCode !== null) return;
      const c = new RespConnection("127.0.0.1", n.respPort);
      try {
        const reply = await c.command(args, 5000);
        if (reply instanceof RespError)
          throw new Error(`node ${n.id}: ${args[0]}: ${reply.message}`);
        return;
      } catch (err) {
        if (!(err instanceof RespUnknown) || Date.now() > deadline) throw err;
      } finally {
        c.close();
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Asks the other members in turn until `attempt` succeeds, for at most MEMBER_CHANGE_MS. */
  private async untilDone(
    what: string,
    attempt: (via: Node) => Promise<boolean>,
    except: number,
  ): Promise<void> {
    const deadline = Date.now() + MEMBER_CHANGE_MS;
    let why = "no member answered";
    for (let turn = 0; Date.now() < deadline; turn++) {
      const others = this.nodes.filter((m, slot) => slot !== except && m.child?.exitCode === null);
      const via = others[turn % Math.max(1, others.length)];
      if (via !== undefined) {
        try {
          if (await attempt(via)) return;
          why = `node ${via.id} refused`;
        } catch (err) {
          why = `node ${via.id}: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`${what}: not done within ${MEMBER_CHANGE_MS / 1000} s (${why})`);
  }

  private async waitForLeader(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.leader()) !== undefined) return;
      // A node refusing its flags exits at once: say why instead of waiting out the deadline.
      const exited = this.nodes.find((n) => n.child !== undefined && n.child.exitCode !== null);
      if (exited !== undefined) {
        await this.stop();
        throw new Error(`node ${exited.id} exited: ${exited.lastLine ?? "(nothing on stderr)"}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    await this.stop();
    throw new Error(`no leader within ${timeoutMs / 1000} s`);
  }
}
