#!/usr/bin/env node
// The launcher behind `make bench`: a three-process cluster on loopback. It picks free
// ports, starts two followers and a leader from the compiled binaries beside this file,
// runs the leader's benchmark matrix (extra arguments are forwarded), prints the result
// lines, stops the followers (SIGTERM, then SIGKILL after a grace period) and exits non-zero
// if any process failed. JSON results go to results/ unless --json says otherwise.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, realpathSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { isBooleanFlag, SHARED_NODE_FLAGS } from "../cli/args.js";
import { type CollectReply, isIpcMessage } from "./cluster-ipc.js";

const HELP = `Usage: local-cluster [leader and component flags...]

Starts two rafttoy-follower processes and one rafttoy-leader on 127.0.0.1 (free ports),
runs the leader's benchmarks and stops the followers.

Flags given here are passed on: --pipeline, --wal, --wal-delay, --engine, --transport,
--net-delay, --metrics, --tick, --election-ticks and --heartbeat-ticks to all three
processes; every other flag (--bench, --benchtime, --count, --maxrate, --json) to the
leader only. Defaults: --benchtime 1s, --json results/bench-<time>.json. Data
directories: .data/local-cluster/node-<id> (wiped first). See rafttoy-leader --help for
the leader's flags.
`;

const SHARED_FLAGS = new Set(SHARED_NODE_FLAGS.map((f) => `--${f}`));
const STOP_GRACE_MS = 5000;

/** `--metrics`, `--no-metrics` and the like take no value. */
function isFlagWithoutValue(arg: string): boolean {
  const name = arg.replace(/^--(no-)?/, "");
  return isBooleanFlag(name);
}

/** Splits forwarded arguments into those for every process and those for the leader only. */
export function splitArgs(args: readonly string[]): { shared: string[]; leader: string[] } {
  const shared: string[] = [];
  const leader: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const name = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
    const takesValue = !arg.includes("=") && arg.startsWith("--") && !isFlagWithoutValue(name);
    const group = SHARED_FLAGS.has(name.replace(/^--no-/, "--")) ? shared : leader;
    group.push(arg);
    if (takesValue && i + 1 < args.length && !args[i + 1]!.startsWith("--")) group.push(args[++i]!);
  }
  return { shared, leader };
}

function hasFlag(args: readonly string[], flag: string): boolean {
  return args.some((a) => a === flag || a.startsWith(`${flag}=`));
}

/** Free loopback ports: bound to port 0 at once, so the kernel hands out distinct ones. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once("error", reject);
          s.listen(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const addr = s.address();
    if (addr === null || typeof addr === "string") throw new Error("no port assigned");
    return addr.port;
  });
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** Copies a child's output to stderr, each line labelled; resolves at the first line matching `ready`. */
function prefixLines(child: ChildProcess, label: string, ready: RegExp): Promise<void> {
  return new Promise((resolve) => {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream }).on("line", (line) => {
        process.stderr.write(`[${label}] ${line}\n`);
        if (ready.test(line)) resolve();
      });
    }
    child.once("exit", () => resolve());
  });
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else if (child.signalCode !== null) resolve(128);
    else child.once("exit", (code, signal) => resolve(code ?? (signal === "SIGTERM" ? 143 : 128)));
  });
}

async function stopChild(child: ChildProcess): Promise<number> {
  if (child.exitCode !== null || child.signalCode !== null) return exited(child);
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), STOP_GRACE_MS);
  const code = await exited(child);
  clearTimeout(timer);
  return code;
}

/** Answers the leader's collect requests: asks every follower, relays what came back in time. */
function relayCollects(leader: ChildProcess, followers: readonly ChildProcess[]): void {
  const RELAY_TIMEOUT_MS = 2_500;
  leader.on("message", (m: unknown) => {
    if (!isIpcMessage(m) || m.kind !== "collect") return;
    const answered: CollectReply["followers"] = {};
    let waiting = 0;
    const reply = () => {
      clearTimeout(timer);
      for (const f of followers) f.off("message", onSnapshot);
      if (leader.connected) leader.send({ kind: "collected", seq: m.seq, followers: answered });
    };
    const onSnapshot = (s: unknown) => {
      if (!isIpcMessage(s) || s.kind !== "snapshot" || s.seq !== m.seq) return;
      answered[String(s.id)] = { probes: s.probes, metrics: s.metrics };
      if (--waiting === 0) reply();
    };
    const timer = setTimeout(reply, RELAY_TIMEOUT_MS);
    for (const f of followers) {
      if (!f.connected) continue;
      waiting++;
      f.on("message", onSnapshot);
      f.send({ kind: "collect", seq: m.seq });
    }
    if (waiting === 0) reply();
  });
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(HELP);
    return 0;
  }
  const { shared, leader } = splitArgs(args);
  const here = fileURLToPath(new URL(".", import.meta.url));
  const ports = await freePorts(3);
  const peers = ports.map((p) => `127.0.0.1:${p}`).join(",");
  const dataRoot = join(".data", "local-cluster");
  rmSync(dataRoot, { recursive: true, force: true });
  const leaderArgs = [...leader];
  if (!hasFlag(leaderArgs, "--benchtime")) leaderArgs.push("--benchtime", "1s");
  if (!hasFlag(leaderArgs, "--json")) {
    mkdirSync("results", { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    leaderArgs.push("--json", join("results", `bench-${stamp}.json`));
  }
  const nodeArgs = (id: number) => [
    "--peers",
    peers,
    "--id",
    String(id),
    "--data-dir",
    join(dataRoot, `node-${id}`),
    ...shared,
  ];
  const listening: Promise<void>[] = [];
  const followers = [2, 3].map((id) => {
    const child = spawn(process.execPath, [join(here, "rafttoy-follower.js"), ...nodeArgs(id)], {
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    });
    listening.push(prefixLines(child, `follower ${id}`, /serving on/));
    return child;
  });
  let failed = false;
  let stopping = false;
  const early = followers.map((child, k) =>
    exited(child).then((code) => {
      if (!stopping) {
        failed = true;
        process.stderr.write(`local-cluster: follower ${k + 2} exited early (code ${code})\n`);
      }
    }),
  );
  // The leader starts once the followers listen: its first connection attempts then succeed
  // instead of backing off.
  await Promise.all(listening);
  const leaderChild = spawn(
    process.execPath,
    [join(here, "rafttoy-leader.js"), ...nodeArgs(1), ...leaderArgs],
    { stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  relayCollects(leaderChild, followers);
  const onSignal = (sig: NodeJS.Signals) => {
    leaderChild.kill(sig);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const leaderCode = await exited(leaderChild);
  stopping = true;
  const followerCodes = await Promise.all(followers.map(stopChild));
  await Promise.all(early);
  if (leaderCode !== 0) {
    process.stderr.write(`local-cluster: the leader exited with code ${leaderCode}\n`);
    failed = true;
  }
  followerCodes.forEach((code, k) => {
    // 143 is the conventional exit after SIGTERM: a clean stop.
    if (code !== 0 && code !== 143) {
      process.stderr.write(`local-cluster: follower ${k + 2} stopped with code ${code}\n`);
      failed = true;
    }
  });
  return failed ? 1 : 0;
}

if (
  process.argv[1] !== undefined &&
  fileURLToPath(import.meta.url) === realpathSync(process.argv[1])
) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`local-cluster: ${err instanceof Error ? err.message : err}\n`);
      process.exit(1);
    },
  );
}
