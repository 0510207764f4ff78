// Test support: an in-process stand-in for a rafttoy-kv cluster — one RESP server per
// "node", all sharing one linearizable store — with the ClusterControl faults (a killed
// node drops its connections and refuses new ones, a paused one holds every reply, one cut
// off from a majority answers CLUSTERDOWN, a removed member is down until added back) and an
// optional planted bug: `staleReads` serves GET from a copy that lags behind the store.
import { createServer, type Server, type Socket } from "node:net";
import type { ClusterControl } from "./nemesis.js";
import { parseReply, type RespReply } from "./resp-client.js";
import type { Target } from "./workload.js";

type Value = string | string[];

export class FakeKvCluster implements ClusterControl {
  private readonly store = new Map<string, Value>();
  private stale = new Map<string, Value>();
  private readonly servers: (Server | undefined)[] = [];
  private readonly sockets: Set<Socket>[] = [];
  private readonly paused: boolean[] = [];
  private readonly held: (() => void)[][] = [];
  /** Nodes cut off from a majority of the cluster: they refuse every command. */
  private minority = new Set<number>();
  readonly ports: number[] = [];
  private staleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly size: number,
    private readonly bugs: { staleReads?: boolean } = {},
  ) {}

  async start(): Promise<void> {
    for (let i = 0; i < this.size; i++) {
      this.sockets.push(new Set());
      this.paused.push(false);
      this.held.push([]);
      this.ports.push(0);
      this.servers.push(undefined);
      await this.listen(i);
    }
    if (this.bugs.staleReads)
      this.staleTimer = setInterval(() => (this.stale = new Map(this.store)), 20);
  }

  targets(): Target[] {
    return this.ports.map((port) => ({ host: "127.0.0.1", port }));
  }

  async kill(node: number): Promise<void> {
    const server = this.servers[node];
    this.servers[node] = undefined;
    for (const s of this.sockets[node] ?? []) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }

  async restart(node: number): Promise<void> {
    await this.listen(node);
  }

  async pause(node: number): Promise<void> {
    this.paused[node] = true;
  }

  async resume(node: number): Promise<void> {
    this.paused[node] = false;
    for (const release of this.held[node]?.splice(0) ?? []) release();
  }

  async leader(): Promise<number | undefined> {
    return 0;
  }

  async partition(cuts: ReadonlyMap<number, readonly number[]>): Promise<void> {
    this.minority = new Set(
      [...cuts].filter(([, from]) => this.size - from.length <= this.size / 2).map(([n]) => n),
    );
  }

  async heal(): Promise<void> {
    this.minority = new Set();
  }

  async removeMember(node: number): Promise<void> {
    await this.kill(node);
  }

  async addMember(node: number): Promise<void> {
    await this.listen(node);
  }

  async settled(): Promise<boolean> {
    return true;
  }

  async stop(): Promise<void> {
    clearInterval(this.staleTimer);
    for (let i = 0; i < this.size; i++) {
      await this.resume(i);
      await this.kill(i);
    }
  }

  private listen(node: number): Promise<void> {
    const server = createServer((socket) => this.serve(node, socket));
    this.servers[node] = server;
    return new Promise((resolve) =>
      server.listen(this.ports[node] ?? 0, "127.0.0.1", () => {
        const address = server.address();
        if (typeof address === "object" && address !== null) this.ports[node] = address.port;
        resolve();
      }),
    );
  }

  private serve(node: number, socket: Socket): void {
    this.sockets[node]?.add(socket);
    socket.on("close", () => this.sockets[node]?.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffer: Buffer = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const parsed = parseReply(buffer, 0);
        if (parsed === undefined) return;
        buffer = buffer.subarray(parsed.end);
        const args = (parsed.reply as RespReply[]).map(String);
        // Applied at once (linearization point inside the call); the reply may be held.
        const reply = this.minority.has(node) ? "-CLUSTERDOWN no leader\r\n" : this.apply(args);
        const send = () => {
          if (!socket.destroyed) socket.write(reply);
        };
        if (this.paused[node]) this.held[node]?.push(send);
        else send();
      }
    });
  }

  private apply(args: string[]): string {
    const [name = "", key = "", arg = ""] = args;
    const held = this.store.get(key);
    const bulk = (v: string | undefined) =>
      v === undefined ? "$-1\r\n" : `$${Buffer.byteLength(v)}\r\n${v}\r\n`;
    switch (name.toUpperCase()) {
      case "GET": {
        const seen = this.bugs.staleReads ? this.stale.get(key) : held;
        if (Array.isArray(seen))
          return "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        return bulk(seen);
      }
      case "SET":
        this.store.set(key, arg);
        return "+OK\r\n";
      case "DEL":
        this.store.delete(key);
        return `:${held === undefined ? 0 : 1}\r\n`;
      case "INCR": {
        if (Array.isArray(held))
          return "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        const next = Number(held ?? "0") + 1;
        this.store.set(key, String(next));
        return `:${next}\r\n`;
      }
      case "RPUSH": {
        if (typeof held === "string")
          return "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        const list = held ?? [];
        list.push(arg);
        this.store.set(key, list);
        return `:${list.length}\r\n`;
      }
      case "LPOP": {
        if (typeof held === "string")
          return "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
        const item = held?.shift();
        if (held !== undefined && held.length === 0) this.store.delete(key);
        return bulk(item);
      }
      default:
        return `-ERR unknown command '${name}'\r\n`;
    }
  }
}
