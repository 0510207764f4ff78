// The Redis commands the service answers, each as local (answered at once), a read (served
// from a KvReadView) or a write (one KvWrite, replicated, answered from its KvResult).
import type { ClusterInfo, KvReadView, KvResult, KvWrite } from "../contract.js";
import { ADMIN, type FaultContext } from "./admin.js";
import type { Reply } from "./reply.js";
import * as r from "./reply.js";

/** What a local command may look at and do to its connection. */
export interface LocalContext extends FaultContext {
  cluster(): ClusterInfo;
  /** The server's static facts for INFO and HELLO. */
  readonly server: ServerFacts;
  /** Closes the connection once this command's reply is written. */
  quit(): void;
  /** The connection's id (HELLO, CLIENT ID). */
  readonly clientId: number;
}

export interface ServerFacts {
  version: string;
  port: number;
  readMode: "linearizable" | "stale";
  /** CONFIG GET answers from here (parameter → value). */
  config: ReadonlyMap<string, string>;
}

interface Base {
  /** Redis arity: n > 0 exactly n words (with the name), n < 0 at least -n. */
  arity: number;
}
export interface LocalCommand extends Base {
  kind: "local";
  run(args: Buffer[], ctx: LocalContext): Reply;
}
export interface ReadCommand extends Base {
  kind: "read";
  run(args: Buffer[], view: KvReadView): Reply;
}
export interface WriteCommand extends Base {
  kind: "write";
  /** The write, or an error reply for bad arguments (nothing is proposed). */
  prepare(args: Buffer[]): KvWrite | Reply;
  answer(result: KvResult): Reply;
}
export type Command = LocalCommand | ReadCommand | WriteCommand;

export const ERR_SYNTAX = r.error("ERR syntax error");
export const ERR_NOT_INTEGER = r.error("ERR value is not an integer or out of range");
const ERR_WRONGTYPE = r.error("WRONGTYPE Operation against a key holding the wrong kind of value");

/** Whether `prepare` returned an error reply rather than a write. */
export function isReply(x: KvWrite | Reply): x is Reply {
  return Buffer.isBuffer(x) || Array.isArray(x);
}

export function isCommand(x: Command | Reply): x is Command {
  return !isReply(x as KvWrite | Reply);
}

function lower(b: Buffer): string {
  return b.toString("latin1").toLowerCase();
}

/** A signed 64-bit decimal integer as Redis accepts it (no spaces, no '+', no leading zeros). */
export function parseInteger(b: Buffer): bigint | null {
  const s = b.toString("latin1");
  if (!/^(0|-?[1-9][0-9]{0,18})$/.test(s)) return null;
  const n = BigInt(s);
  if (n > 9223372036854775807n || n < -9223372036854775808n) return null;
  return n;
}

function resultError(result: KvResult): Reply | null {
  if (result.kind !== "error") return null;
  switch (result.code) {
    case "not-integer":
      return ERR_NOT_INTEGER;
    case "overflow":
      return r.error("ERR increment or decrement would overflow");
    case "wrong-type":
      return ERR_WRONGTYPE;
  }
}

function answerInteger(result: KvResult): Reply {
  const e = resultError(result);
  if (e !== null) return e;
  if (result.kind === "integer") return r.integer(result.value);
  return r.error(`ERR unexpected result ${result.kind}`);
}

function answerBulk(result: KvResult): Reply {
  const e = resultError(result);
  if (e !== null) return e;
  if (result.kind === "bulk") return r.bulk(result.value);
  return r.error(`ERR unexpected result ${result.kind}`);
}

function push(end: "left" | "right"): WriteCommand {
  return {
    kind: "write",
    arity: -3,
    prepare: (a) => ({ op: "push", key: a[1] as Buffer, values: a.slice(2), end }),
    answer: answerInteger,
  };
}

function pop(end: "left" | "right"): WriteCommand {
  return {
    kind: "write",
    arity: 2,
    prepare: (a) => ({ op: "pop", key: a[1] as Buffer, end }),
    answer: answerBulk,
  };
}

function incrBy(sign: 1n | -1n, withArgument: boolean): WriteCommand {
  return {
    kind: "write",
    arity: withArgument ? 3 : 2,
    prepare(a) {
      if (!withArgument) return { op: "incrby", key: a[1] as Buffer, by: sign };
      const by = parseInteger(a[2] as Buffer);
      if (by === null) return ERR_NOT_INTEGER;
      return { op: "incrby", key: a[1] as Buffer, by: sign * by };
    },
    answer: answerInteger,
  };
}

function infoText(ctx: LocalContext, section: string): string {
  const c = ctx.cluster();
  const members = c.members
    .map((m) => `${m.id}@${m.raft}${m.resp ? `,resp=${m.resp}` : ""},${m.role}`)
    .join(" ");
  const sections: [string, [string, string | number][]][] = [
    [
      "server",
      [
        ["redis_version", ctx.server.version],
        ["redis_mode", "standalone"],
        ["server_name", "rafttoy-kv"],
        ["tcp_port", ctx.server.port],
        ["process_id", process.pid],
        ["uptime_in_seconds", Math.floor(process.uptime())],
      ],
    ],
    ["persistence", [["loading", 0]]],
    [
      "replication",
      [
        // What Redis tools look for: the leader is the master.
        ["role", c.role === "leader" ? "master" : "slave"],
      ],
    ],
    [
      "raft",
      [
        ["raft_node_id", c.id],
        ["raft_role", c.role],
        ["raft_leader", c.leader],
        ["raft_term", c.term],
        ["raft_commit_index", c.commitIndex],
        ["raft_applied_index", c.appliedIndex],
        ["raft_members", members],
        ["raft_reads", ctx.server.readMode],
      ],
    ],
  ];
  const wanted = section === "" || section === "all" || section === "default" ? null : section;
  return sections
    .filter(([name]) => wanted === null || wanted === name)
    .map(([name, fields]) => {
      const title = `# ${name[0]?.toUpperCase()}${name.slice(1)}`;
      return [title, ...fields.map(([k, v]) => `${k}:${v}`)].join("\r\n");
    })
    .join("\r\n\r\n")
    .concat("\r\n");
}

/** Redis glob matching on strings for CONFIG GET patterns (ASCII parameter names). */
function globMatch(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  return re.test(name);
}

const LOCAL: Record<string, LocalCommand> = {
  ping: {
    kind: "local",
    arity: -1,
    run(a) {
      if (a.length > 2) return arityError("ping");
      return a.length === 2 ? r.bulk(a[1] as Buffer) : r.PONG;
    },
  },
  echo: { kind: "local", arity: 2, run: (a) => r.bulk(a[1] as Buffer) },
  quit: {
    kind: "local",
    arity: -1,
    run(_a, ctx) {
      ctx.quit();
      return r.OK;
    },
  },
  select: {
    kind: "local",
    arity: 2,
    // One database: SELECT 0 is what clients send when configured with the default.
    run: (a) => (lower(a[1] as Buffer) === "0" ? r.OK : r.error("ERR DB index is out of range")),
  },
  hello: {
    kind: "local",
    arity: -1,
    run(a, ctx) {
      if (a.length > 1) {
        const v = parseInteger(a[1] as Buffer);
        if (v === null) return r.error("ERR Protocol version is not an integer or out of range");
        // RESP3 is not spoken: clients that ask for it fall back to RESP2 on NOPROTO.
        if (v !== 2n) return r.error("NOPROTO unsupported protocol version");
      }
      const c = ctx.cluster();
      return r.array([
        r.bulkString("server"),
        r.bulkString("redis"),
        r.bulkString("version"),
        r.bulkString(ctx.server.version),
        r.bulkString("proto"),
        r.integer(2),
        r.bulkString("id"),
        r.integer(ctx.clientId),
        r.bulkString("mode"),
        r.bulkString("standalone"),
        r.bulkString("role"),
        r.bulkString(c.role === "leader" ? "master" : "replica"),
        r.bulkString("modules"),
        r.EMPTY_ARRAY,
      ]);
    },
  },
  command: {
    kind: "local",
    arity: -1,
    run(a) {
      const sub = a.length > 1 ? lower(a[1] as Buffer) : "";
      // redis-cli asks for COMMAND DOCS (hints) on start; an empty answer means "no hints".
      if (sub === "" || sub === "docs" || sub === "info") return r.EMPTY_ARRAY;
      if (sub === "count") return r.integer(Object.keys(COMMANDS).length);
      return r.error(`ERR unknown subcommand '${sub}'. Try COMMAND HELP.`);
    },
  },
  config: {
    kind: "local",
    arity: -2,
    run(a, ctx) {
      const sub = lower(a[1] as Buffer);
      if (sub !== "get") return r.error(`ERR CONFIG ${sub.toUpperCase()} is not supported`);
      if (a.length < 3) return arityError("config|get");
      const out: Reply[] = [];
      for (const p of a.slice(2)) {
        const pattern = lower(p);
        for (const [name, value] of ctx.server.config) {
          if (globMatch(pattern, name)) out.push(r.bulkString(name), r.bulkString(value));
        }
      }
      return r.array(out);
    },
  },
  client: {
    kind: "local",
    arity: -2,
    run(a, ctx) {
      const sub = lower(a[1] as Buffer);
      if (sub === "id") return r.integer(ctx.clientId);
      // Names and library info are accepted and not kept.
      if (sub === "setname" || sub === "setinfo") return r.OK;
      if (sub === "getname") return r.NULL_BULK;
      return r.error(`ERR unknown subcommand '${sub}'. Try CLIENT HELP.`);
    },
  },
  info: {
    kind: "local",
    arity: -1,
    run: (a, ctx) => r.bulkString(infoText(ctx, a.length > 1 ? lower(a[1] as Buffer) : "")),
  },
};

const READ: Record<string, ReadCommand> = {
  get: {
    kind: "read",
    arity: 2,
    run(a, view) {
      const v = view.get(a[1] as Buffer);
      if (v === null && view.exists(a[1] as Buffer)) return ERR_WRONGTYPE;
      return r.bulk(v);
    },
  },
  exists: {
    kind: "read",
    arity: -2,
    run(a, view) {
      let n = 0;
      for (let i = 1; i < a.length; i++) if (view.exists(a[i] as Buffer)) n++;
      return r.integer(n);
    },
  },
  mget: {
    kind: "read",
    arity: -2,
    // A key holding a list reads as nil, as in Redis.
    run: (a, view) => r.bulkArray(a.slice(1).map((k) => view.get(k))),
  },
  keys: { kind: "read", arity: 2, run: (a, view) => r.bulkArray(view.keys(a[1] as Buffer)) },
  dbsize: { kind: "read", arity: 1, run: (_a, view) => r.integer(view.size()) },
  llen: {
    kind: "read",
    arity: 2,
    run(a, view) {
      const n = view.listLength(a[1] as Buffer);
      return n === null ? ERR_WRONGTYPE : r.integer(n);
    },
  },
};

const WRITE: Record<string, WriteCommand> = {
  set: {
    kind: "write",
    arity: -3,
    prepare(a) {
      let condition: "nx" | "xx" | undefined;
      for (let i = 3; i < a.length; i++) {
        const opt = lower(a[i] as Buffer);
        if ((opt === "nx" || opt === "xx") && (condition === undefined || condition === opt)) {
          condition = opt;
        } else return ERR_SYNTAX;
      }
      const key = a[1] as Buffer;
      const value = a[2] as Buffer;
      return condition === undefined
        ? { op: "set", key, value }
        : { op: "set", key, value, condition };
    },
    answer(result) {
      const e = resultError(result);
      if (e !== null) return e;
      return result.kind === "not-set" ? r.NULL_BULK : r.OK;
    },
  },
  mset: {
    kind: "write",
    arity: -3,
    prepare(a) {
      if (a.length % 2 === 0) return arityError("mset");
      const pairs: [Buffer, Buffer][] = [];
      for (let i = 1; i < a.length; i += 2) pairs.push([a[i] as Buffer, a[i + 1] as Buffer]);
      return { op: "mset", pairs };
    },
    answer: (result) => resultError(result) ?? r.OK,
  },
  del: {
    kind: "write",
    arity: -2,
    prepare: (a) => ({ op: "del", keys: a.slice(1) }),
    answer: answerInteger,
  },
  incr: incrBy(1n, false),
  decr: incrBy(-1n, false),
  incrby: incrBy(1n, true),
  decrby: incrBy(-1n, true),
  lpush: push("left"),
  rpush: push("right"),
  lpop: pop("left"),
  rpop: pop("right"),
};

/** Every command by lower-case name. */
export const COMMANDS: ReadonlyMap<string, Command> = new Map<string, Command>([
  ...Object.entries(LOCAL),
  ...Object.entries(READ),
  ...Object.entries(WRITE),
  ...Object.entries(ADMIN),
]);

export function arityError(name: string): Reply {
  return r.error(`ERR wrong number of arguments for '${name}' command`);
}

/** The command named by `args[0]` with an arity `args` satisfies, or the error to answer. */
export function lookup(args: Buffer[]): Command | Reply {
  const name = lower(args[0] as Buffer);
  const cmd = COMMANDS.get(name);
  if (cmd === undefined) {
    const shown = args
      .slice(1, 20)
      .map((a) => `'${a.toString("latin1").slice(0, 128)}'`)
      .join(" ");
    return r.error(
      `ERR unknown command '${args[0]?.toString("latin1").slice(0, 128)}', with args beginning with: ${shown}`,
    );
  }
  const ok = cmd.arity > 0 ? args.length === cmd.arity : args.length >= -cmd.arity;
  return ok ? cmd : arityError(name);
}
