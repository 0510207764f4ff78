// `make bench-kv`: the key-value service measured with tools nobody here wrote. It starts a
// local 3-node cluster (default durable storage), runs redis-benchmark against the leader and
// a follower with and without pipelining, linearizable and then stale reads, an HTTP load
// with autocannon, and a plain redis-server in the same run as the non-replicated ceiling.
// Every timed command holds /tmp/bench.lock (flock) only while it runs. Prints one table and
// writes the same rows as JSON under results/.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  type CommandSpec,
  choiceList,
  intFlag,
  parseOrExit,
  positiveIntList,
  text,
} from "../command/command.js";
import { freePorts } from "../transport/free-ports.js";
import { LOCK_NOTICE_AFTER_S, noticeLockWait } from "./bench-lock.js";
import { KvCluster, type KvNode } from "./kv-cluster.js";
import { processCpuSeconds } from "./process-cpu.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const LOCK = "/tmp/bench.lock";

interface Row {
  case: string;
  target: string;
  run: number;
  opsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU microseconds per operation the leader process used during the case. */
  leaderCpuUsPerOp?: number;
  /** The same, summed over the followers. */
  followersCpuUsPerOp?: number;
}

/** The groups of cases a run can be limited to (--cases). */
const CASES = [
  "leader",
  "follower",
  "http-leader",
  "http-follower",
  "stale-leader",
  "stale-follower",
  "redis-server",
] as const;
type CaseGroup = (typeof CASES)[number];

interface Options {
  requests: number;
  clients: number;
  keyspace: number;
  bytes: number;
  runs: number;
  httpSeconds: number;
  json: string;
  cases: ReadonlySet<CaseGroup>;
  /** redis-benchmark tests to run (a subset of set, get). */
  tests: ReadonlySet<string>;
  /** redis-benchmark -P values, each a case of its own. */
  depths: number[];
  args: string[];
}

const WHOLE = Number.MAX_SAFE_INTEGER;

const KV_BENCH: CommandSpec<Options> = {
  name: "kv-bench",
  usage: `$0 [-n REQUESTS] [--runs N] [--http-seconds S] [--json FILE] [--cases LIST] [-P LIST] [-t set,get] [-- rafttoy-kv flags]

redis-benchmark -t set,get -n REQUESTS -c 50 -r 100000 -d 256 (with and without -P 16) against the leader and a follower, linearizable then stale reads; autocannon PUT and GET at 100 connections; a plain redis-server as the ceiling. Medians over --runs. Each row also gives the CPU time per operation of the leader and of the followers (all their threads, from /proc), which a shared machine disturbs less than ops/s. Flags after -- go to every rafttoy-kv node; RAFTTOY_NODE_FLAGS (environment, space-separated Node/V8 flags) goes before each node's script.

kv-bench takes ${LOCK} itself (flock) around each timed command, so that no two timings on this machine overlap: do not start it under flock ${LOCK} (e.g. flock ${LOCK} make bench-kv), which would make it wait for ever. When the lock stays taken for ${LOCK_NOTICE_AFTER_S} s, it says on stderr who holds it, and keeps waiting.`,
  flags: (y) =>
    y
      .parserConfiguration({ "camel-case-expansion": false, "populate--": true })
      .option("n", {
        type: "string",
        describe: "requests per redis-benchmark run (default 200000)",
      })
      .option("runs", {
        type: "string",
        describe: "runs per case; the table shows medians (default 1)",
      })
      .option("http-seconds", {
        type: "string",
        describe: "seconds per autocannon run (default 10)",
      })
      .option("json", {
        type: "string",
        describe: "where the JSON goes (default results/bench-kv-<time>.json)",
      })
      .option("cases", {
        type: "string",
        describe: `only these groups, comma-separated: ${CASES.join(", ")}`,
      })
      .option("P", {
        type: "string",
        describe: "redis-benchmark pipeline depths, comma-separated (default 1,16)",
      })
      .option("t", {
        type: "string",
        describe: "redis-benchmark tests, set and/or get (default both)",
      }),
  read: (raw) => ({
    requests: intFlag(raw, "n", 1, WHOLE, 200_000),
    clients: 50,
    keyspace: 100_000,
    bytes: 256,
    runs: intFlag(raw, "runs", 1, WHOLE, 1),
    httpSeconds: intFlag(raw, "http-seconds", 1, WHOLE, 10),
    json:
      text(raw, "json") ??
      join(ROOT, "results", `bench-kv-${new Date().toISOString().replace(/[:.]/g, "-")}.json`),
    cases: new Set(choiceList(raw, "cases", "case", CASES) ?? CASES),
    depths: positiveIntList(raw, "P") ?? [1, 16],
    tests: new Set(choiceList(raw, "t", "test", ["set", "get"]) ?? ["set", "get"]),
    args: ((raw["--"] as unknown[] | undefined) ?? []).map(String),
  }),
};

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/**
 * Runs a command under the benchmark lock; resolves with its stdout. A lock that stays taken
 * is said on stderr first (bench-lock.ts), then waited for.
 */
async function timed(command: string, args: readonly string[]): Promise<string> {
  await noticeLockWait("kv-bench", LOCK, log);
  return new Promise((resolvePromise, reject) => {
    const child = spawn("flock", [LOCK, command, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      err += c.toString();
    });
    child.once("exit", (code) => {
      if (code === 0) resolvePromise(out);
      else
        reject(
          new Error(
            `${command} exited with ${code}: ${err.trim().split("\n").slice(-3).join(" | ")}`,
          ),
        );
    });
  });
}

/** redis-benchmark --csv: "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms". */
function parseRedisCsv(text: string): Map<string, { rps: number; p50: number; p99: number }> {
  const out = new Map<string, { rps: number; p50: number; p99: number }>();
  for (const line of text.split("\n")) {
    const cells = line
      .trim()
      .split(",")
      .map((c) => c.replace(/^"|"$/g, ""));
    if (cells.length < 7 || cells[0] === "test") continue;
    out.set(cells[0] as string, {
      rps: Number(cells[1]),
      p50: Number(cells[4]),
      p99: Number(cells[6]),
    });
  }
  return out;
}

async function redisBenchmark(
  o: Options,
  port: number,
  pipeline: number,
  tests: string,
): Promise<Map<string, { rps: number; p50: number; p99: number }>> {
  const args = ["-h", "127.0.0.1", "-p", String(port), "-t", tests, "-n", String(o.requests)];
  args.push("-c", String(o.clients), "-r", String(o.keyspace), "-d", String(o.bytes), "--csv");
  if (pipeline > 1) args.push("-P", String(pipeline));
  return parseRedisCsv(await timed("redis-benchmark", args));
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
}

async function autocannon(o: Options, url: string, method: "PUT" | "GET"): Promise<AutocannonJson> {
  const bin = join(ROOT, "node_modules", ".bin", "autocannon");
  const args = ["-c", "100", "-d", String(o.httpSeconds), "-m", method, "--json"];
  if (method === "PUT") args.push("-b", "x".repeat(o.bytes));
  args.push(url);
  return JSON.parse(await timed(bin, args)) as AutocannonJson;
}

function startRedisServer(port: number): Promise<ChildProcess> {
  const child = spawn(
    "redis-server",
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    { stdio: "ignore" },
  );
  return new Promise((resolvePromise, reject) => {
    const deadline = Date.now() + 10_000;
    const probe = () => {
      const p = spawn("redis-cli", ["-p", String(port), "ping"], {
        stdio: ["ignore", "pipe", "ignore"],
      });
      let out = "";
      p.stdout.on("data", (c: Buffer) => {
        out += c.toString();
      });
      p.once("exit", () => {
        if (out.includes("PONG")) resolvePromise(child);
        else if (Date.now() > deadline) reject(new Error("redis-server did not start"));
        else setTimeout(probe, 100);
      });
    };
    probe();
  });
}

/** The cluster's node processes by role, whose CPU time a case is charged with. */
interface Charged {
  leader?: KvNode;
  followers: KvNode[];
}

/** Runs `body` (which performs `ops` operations, known once it ends) and charges CPU per op. */
async function withCpu<T>(
  charged: Charged,
  body: () => Promise<{ result: T; ops: number }>,
): Promise<{ result: T; leaderCpuUsPerOp?: number; followersCpuUsPerOp?: number }> {
  const cpu = (n: KvNode) =>
    n.child?.pid === undefined ? undefined : processCpuSeconds(n.child.pid);
  const lead0 = charged.leader && cpu(charged.leader);
  const fol0 = charged.followers.map(cpu);
  const { result, ops } = await body();
  const out: { result: T; leaderCpuUsPerOp?: number; followersCpuUsPerOp?: number } = { result };
  const perOp = (seconds: number) => Math.round((seconds * 1e7) / ops) / 10;
  if (charged.leader !== undefined && lead0 !== undefined) {
    const lead1 = cpu(charged.leader);
    if (lead1 !== undefined) out.leaderCpuUsPerOp = perOp(lead1 - lead0);
  }
  let followers = 0;
  let known = charged.followers.length > 0;
  charged.followers.forEach((f, i) => {
    const before = fol0[i];
    const after = cpu(f);
    if (before === undefined || after === undefined) known = false;
    else followers += after - before;
  });
  if (known) out.followersCpuUsPerOp = perOp(followers);
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

async function redisCases(
  o: Options,
  rows: Row[],
  run: number,
  label: string,
  port: number,
  tests: readonly string[],
  charged: Charged = { followers: [] },
): Promise<void> {
  for (const pipeline of o.depths) {
    // One test per redis-benchmark, so that the CPU time read around it is that test's.
    for (const test of tests) {
      // A SET before a GET fills the keys the GET reads: -t get keeps it.
      if (!o.tests.has(test) && !(test === "set" && tests.includes("get"))) continue;
      const { result: t, ...cpu } = await withCpu(charged, async () => ({
        result: await redisBenchmark(o, port, pipeline, test),
        ops: o.requests,
      }));
      for (const [name0, r] of t) {
        const name = `${name0}${pipeline > 1 ? ` -P ${pipeline}` : ""}`;
        rows.push({
          case: name,
          target: label,
          run,
          opsPerSec: r.rps,
          p50Ms: r.p50,
          p99Ms: r.p99,
          ...cpu,
        });
        log(
          `  ${label.padEnd(28)} ${name.padEnd(10)} ${Math.round(r.rps).toString().padStart(8)} ops/s  p50 ${r.p50} ms  p99 ${r.p99} ms${cpuNote(cpu)}`,
        );
      }
    }
  }
}

function cpuNote(cpu: { leaderCpuUsPerOp?: number; followersCpuUsPerOp?: number }): string {
  if (cpu.leaderCpuUsPerOp === undefined) return "";
  return `  CPU/op leader ${cpu.leaderCpuUsPerOp} µs, followers ${cpu.followersCpuUsPerOp ?? "?"} µs`;
}

async function httpCases(
  o: Options,
  rows: Row[],
  run: number,
  label: string,
  node: KvNode,
  charged: Charged,
): Promise<void> {
  for (const method of ["PUT", "GET"] as const) {
    const { result: r, ...cpu } = await withCpu(charged, async () => {
      const result = await autocannon(o, `http://${node.http}/kv/bench-key`, method);
      return { result, ops: Math.max(1, result.requests.total) };
    });
    if (r.non2xx > 0 || r.errors > 0)
      log(`  warning: HTTP ${method}: ${r.non2xx} non-2xx, ${r.errors} errors`);
    const name = `HTTP ${method} c=100`;
    rows.push({
      case: name,
      target: label,
      run,
      opsPerSec: r.requests.average,
      p50Ms: r.latency.p50,
      p99Ms: r.latency.p99,
      ...cpu,
    });
    log(
      `  ${label.padEnd(28)} ${name.padEnd(10)} ${Math.round(r.requests.average).toString().padStart(8)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms${cpuNote(cpu)}`,
    );
  }
}

async function withCluster(
  o: Options,
  reads: string,
  body: (c: KvCluster) => Promise<void>,
): Promise<void> {
  const c = await KvCluster.start({
    args: ["--reads", reads, ...o.args],
    onLine: (id, line) => {
      if (/warning|error|fatal/i.test(line)) log(`[node ${id}] ${line}`);
    },
  });
  try {
    await body(c);
  } finally {
    await c.stop();
  }
}

function roles(c: KvCluster, leader: KvNode): Charged {
  return { leader, followers: c.running().filter((n) => n !== leader) };
}

async function main(): Promise<void> {
  const o = parseOrExit(KV_BENCH, process.argv.slice(2));
  const rows: Row[] = [];
  const [redisPort] = await freePorts(1);
  for (let run = 1; run <= o.runs; run++) {
    log(`run ${run} of ${o.runs}`);
    const has = (g: CaseGroup) => o.cases.has(g);
    if (has("leader") || has("follower") || has("http-leader") || has("http-follower")) {
      await withCluster(o, "linearizable", async (c) => {
        const leader = await c.leader();
        const follower = await c.follower();
        const charged = roles(c, leader);
        const sg = ["set", "get"];
        if (has("leader"))
          await redisCases(o, rows, run, "leader, linearizable", leader.respPort, sg, charged);
        if (has("follower")) {
          const label = "follower, linearizable";
          await redisCases(o, rows, run, label, follower.respPort, sg, charged);
        }
        if (has("http-leader"))
          await httpCases(o, rows, run, "leader, linearizable", leader, charged);
        if (has("http-follower"))
          await httpCases(o, rows, run, "follower, linearizable", follower, charged);
      });
    }
    if (has("stale-leader") || has("stale-follower")) {
      await withCluster(o, "stale", async (c) => {
        const leader = await c.leader();
        const follower = await c.follower();
        const charged = roles(c, leader);
        // The keys must exist for GET to read values: SET first, then the stale GETs.
        const leaderTests = has("stale-leader") ? ["set", "get"] : ["set"];
        await redisCases(o, rows, run, "leader, stale", leader.respPort, leaderTests, charged);
        if (has("stale-follower"))
          await redisCases(o, rows, run, "follower, stale", follower.respPort, ["get"], charged);
      });
    }
    if (has("redis-server")) {
      const server = await startRedisServer(redisPort as number);
      try {
        const label = "redis-server (no replication)";
        await redisCases(o, rows, run, label, redisPort as number, ["set", "get"]);
      } finally {
        server.kill("SIGTERM");
      }
    }
  }
  const table = summarize(rows);
  process.stdout.write(`${table}\n`);
  await mkdir(dirname(o.json), { recursive: true });
  await writeFile(
    o.json,
    `${JSON.stringify(
      {
        command: `kv-bench ${process.argv.slice(2).join(" ")}`.trim(),
        cores: cpus().length,
        requests: o.requests,
        clients: o.clients,
        keyspace: o.keyspace,
        bytes: o.bytes,
        runs: o.runs,
        cases: [...o.cases],
        depths: o.depths,
        rows,
      },
      null,
      2,
    )}\n`,
  );
  log(`wrote ${o.json}`);
}

/** One line per (target, case): medians over the runs. */
function summarize(rows: Row[]): string {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = `${r.target}\u0000${r.case}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const lines = [
    `| target | case | ops/s | p50 ms | p99 ms | leader CPU µs/op | followers CPU µs/op | runs |`,
    `|---|---|---:|---:|---:|---:|---:|---:|`,
  ];
  for (const [k, rs] of groups) {
    const [target, name] = k.split("\u0000");
    lines.push(
      `| ${target} | ${name} | ${Math.round(median(rs.map((r) => r.opsPerSec))).toLocaleString("en-US")} | ${median(rs.map((r) => r.p50Ms)).toFixed(3)} | ${median(rs.map((r) => r.p99Ms)).toFixed(3)} | ${medianOf(rs, (r) => r.leaderCpuUsPerOp)} | ${medianOf(rs, (r) => r.followersCpuUsPerOp)} | ${rs.length} |`,
    );
  }
  return lines.join("\n");
}

/** The median of a field the rows may lack, one decimal; blank when none has it. */
function medianOf(rows: readonly Row[], field: (r: Row) => number | undefined): string {
  const xs = rows.map(field).filter((x): x is number => x !== undefined);
  return xs.length === 0 ? "" : median(xs).toFixed(1);
}

main().catch((err: unknown) => {
  log(`kv-bench: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
