#!/usr/bin/env node
// The launcher behind `make bench`: a three-process cluster on loopback. It picks free
// ports, starts two followers and a leader from the compiled binaries beside this file,
// runs the leader's benchmark matrix (extra arguments are forwarded), prints the result
// lines, stops the followers (SIGTERM, then SIGKILL after a grace period) and exits non-zero
// if any process failed. JSON results go to results/ unless --json says otherwise; the
// processes' own log lines go to a .log file beside it (and to stderr with --verbose), and
// a failed process's last lines are shown.
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync, realpathSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { addRssToReport } from "../bench/rss-report.js";
import {
  forwardedFlagsError,
  isBooleanFlag,
  SHARED_NODE_FLAGS,
  USAGE_EXIT_CODE,
} from "../cli/args.js";
import { describeRss } from "../metrics/rss.js";
import { componentRegistries } from "../node/components.js";
import { freePorts } from "../transport/free-ports.js";
import { type CollectReply, isIpcMessage, type ProgressReport } from "./cluster-ipc.js";
import { howToOpenProfiles } from "./cpu-profile.js";
import { childArgv, nodeFlags } from "./node-flags.js";
import { ProgressLine, wantsProgressLine } from "./progress-line.js";
import { RssSampler } from "./rss-sampler.js";
import { summarizeSession } from "./session-summary.js";

const HELP = `Usage: local-cluster [leader and component flags...]

Starts two rafttoy-follower processes and one rafttoy-leader on 127.0.0.1 (free ports),
runs the leader's benchmarks and stops the followers.

stdout: the result lines only (Go benchmark format). stderr: a progress line (on a terminal,
CI unset), then a summary table of every case and where the JSON, the log (every process's
own output) and the HTML report (report.html beside the JSON) went. --verbose: every
process's log lines on stderr as they come.

Flags given here are passed on: --pipeline, --wal, --disk-delay (--wal-delay), --engine, --transport,
--net-delay, --metrics, --tick, --election-ticks and --heartbeat-ticks to all three
processes; every other flag (--bench, --benchtime, --count, --maxrate, --json) to the
leader only. Defaults: --benchtime 1s, --json results/bench-<time>.json. Data
directories: .data/local-cluster/node-<id> (wiped first). See rafttoy-leader --help for
the leader's flags.

Environment: RAFTTOY_NODE_FLAGS="--heap-growing-percent=400 ..." puts these Node/V8 flags
(space-separated) before the script of every process it starts, for V8 flags that
NODE_OPTIONS refuses.
`;

const SHARED_FLAGS = new Set(SHARED_NODE_FLAGS.map((f) => `--${f}`));
const STOP_GRACE_MS = 5000;
/** Lines of a process's output kept to show when it fails. */
const TAIL_LINES = 20;

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

/**
 * Reads a child's output line by line into `sink` (labelled); resolves at the first line
 * matching `ready`, or when the child exits.
 */
function readLines(
  child: ChildProcess,
  streams: ReadonlyArray<NodeJS.ReadableStream | null>,
  sink: (line: string) => void,
  ready?: RegExp,
): Promise<void> {
  return new Promise((resolve) => {
    for (const stream of streams) {
      if (stream === null) continue;
      createInterface({ input: stream }).on("line", (line) => {
        sink(line);
        if (ready?.test(line)) resolve();
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

/** The value of `--flag v` or `--flag=v` in `args`, if given. */
function flagValue(args: readonly string[], flag: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === flag) return args[i + 1];
    if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
  }
  return undefined;
}

/** "1:05" or "0:07": a session's elapsed time. */
function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

/** The progress line: case i of n, time into the run and the session, proposals so far. */
export function progressText(p: ProgressReport, sessionMs: number): string {
  const dropped = p.dropped > 0 ? `, ${p.dropped.toLocaleString("en-US")} dropped` : "";
  return (
    `[${p.runIndex}/${p.runs}] ${p.name} run ${p.run}/${p.count}: ` +
    `${(p.elapsedMs / 1000).toFixed(1)}s, ${p.proposals.toLocaleString("en-US")} proposals${dropped}` +
    ` (session ${clock(sessionMs)})`
  );
}

async function main(): Promise<number> {
  const sessionStart = performance.now();
  const rawArgs = process.argv.slice(2);
  if (rawArgs.includes("--help") || rawArgs.includes("-h")) {
    process.stdout.write(HELP);
    return 0;
  }
  // --verbose belongs to the launcher: every process's own log lines on stderr as they come.
  const verbose = rawArgs.includes("--verbose");
  const args = rawArgs.filter((a) => a !== "--verbose");
  const refused = forwardedFlagsError("rafttoy-leader", args, componentRegistries);
  if (refused !== undefined) {
    process.stderr.write(`local-cluster: ${refused}\n`);
    return USAGE_EXIT_CODE;
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
  const jsonPath = flagValue(leaderArgs, "--json") ?? "results/bench.json";
  const logPath = `${jsonPath.replace(/\.json$/, "")}.log`;
  mkdirSync(dirname(logPath), { recursive: true });
  const logFile = openSync(logPath, "w");

  const progress = new ProgressLine(process.stderr, wantsProgressLine(process.stderr, process.env));
  const tails = new Map<string, string[]>();
  let leaderDone = false;
  /** Every process's log line: to the log file always, to stderr with --verbose. */
  const logLine = (label: string) => (line: string) => {
    writeSync(logFile, `[${label}] ${line}\n`);
    const tail = tails.get(label) ?? [];
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    tails.set(label, tail);
    // Once the leader is gone the followers only report it unreachable: nothing to show.
    if (verbose && !(leaderDone && label !== "leader")) {
      progress.clear();
      process.stderr.write(`[${label}] ${line}\n`);
    }
  };
  const say = (text: string) => {
    progress.clear();
    process.stderr.write(text);
  };
  const showTail = (label: string) => {
    const tail = tails.get(label) ?? [];
    if (tail.length === 0) return;
    say(`--- last lines of ${label} (all in ${logPath}) ---\n${tail.join("\n")}\n`);
  };

  const flags = nodeFlags(process.env);
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
  // A child's last lines can arrive after its exit: the log file closes once every child's
  // output streams have closed ("close" follows both), never under a line still on its way.
  const outputsClosed: Promise<void>[] = [];
  const closedOutput = (child: ChildProcess) =>
    outputsClosed.push(new Promise<void>((resolve) => child.once("close", () => resolve())));
  const closeLog = async () => {
    await Promise.all(outputsClosed);
    closeSync(logFile);
  };
  const followers = [2, 3].map((id) => {
    const argv = childArgv(flags, join(here, "rafttoy-follower.js"), nodeArgs(id));
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe", "ipc"] });
    closedOutput(child);
    listening.push(
      readLines(child, [child.stdout, child.stderr], logLine(`follower ${id}`), /serving on/),
    );
    return child;
  });
  let failed = false;
  let stopping = false;
  /** A usage error anywhere (exit 2: bad flags) is what the launcher exits with too. */
  let usageError = false;
  const exitedEarly = new Set<number>();
  const early = followers.map((child, k) =>
    exited(child).then((code) => {
      if (!stopping) {
        failed = true;
        usageError ||= code === USAGE_EXIT_CODE;
        exitedEarly.add(k);
        say(`local-cluster: follower ${k + 2} exited early (code ${code})\n`);
        showTail(`follower ${k + 2}`);
      }
    }),
  );
  // The leader starts once the followers listen: its first connection attempts then succeed
  // instead of backing off.
  await Promise.all(listening);
  if (exitedEarly.size > 0) {
    // A follower that could not start (bad flags, a data dir it cannot use): no session.
    stopping = true;
    await Promise.all(followers.map(stopChild));
    await closeLog();
    say(`local-cluster: no benchmark ran (every process's output: ${logPath})\n`);
    return usageError ? USAGE_EXIT_CODE : 1;
  }
  const leaderChild = spawn(
    process.execPath,
    childArgv(flags, join(here, "rafttoy-leader.js"), [...nodeArgs(1), ...leaderArgs]),
    { stdio: ["ignore", "pipe", "pipe", "ipc"] },
  );
  closedOutput(leaderChild);
  relayCollects(leaderChild, followers);
  leaderChild.on("message", (m: unknown) => {
    if (isIpcMessage(m) && m.kind === "progress") {
      progress.update(progressText(m, performance.now() - sessionStart));
    }
  });
  // Result lines, and only they, go to stdout.
  const leaderOut = readLines(leaderChild, [leaderChild.stdout], (line) => {
    progress.clear();
    process.stdout.write(`${line}\n`);
    writeSync(logFile, `[leader] ${line}\n`);
  });
  const leaderErr = readLines(leaderChild, [leaderChild.stderr], logLine("leader"));
  const sampler = new RssSampler(
    [
      { name: "leader", pid: leaderChild.pid ?? 0 },
      ...followers.map((f, k) => ({ name: `follower ${k + 2}`, pid: f.pid ?? 0 })),
    ],
    logLine("local-cluster"),
  );
  sampler.start();
  const onSignal = (sig: NodeJS.Signals) => {
    leaderChild.kill(sig);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const leaderCode = await exited(leaderChild);
  leaderDone = true;
  await Promise.all([leaderOut, leaderErr]);
  // Every process's memory at the end of the run, before the followers are stopped: the
  // followers' read now, the leader's as it recorded it in the JSON before exiting.
  const sampled = sampler.stop();
  const leaderEntry = sampled.leader;
  if (leaderEntry !== undefined) {
    sampled.leader = { pid: leaderEntry.pid, samples: leaderEntry.samples };
  }
  const rss = (await addRssToReport(jsonPath, sampled)) ?? sampled;
  const ends: string[] = [];
  for (const [name, r] of Object.entries(rss)) {
    if (r.rssBytes !== undefined && r.maxRssBytes !== undefined) {
      ends.push(`${name} ${describeRss({ rssBytes: r.rssBytes, maxRssBytes: r.maxRssBytes })}`);
    }
  }
  if (ends.length > 0) say(`local-cluster: at the end: ${ends.join(", ")}\n`);
  stopping = true;
  const followerCodes = await Promise.all(followers.map(stopChild));
  await Promise.all(early);
  progress.clear();
  if (leaderCode !== 0) {
    say(`local-cluster: the leader exited with code ${leaderCode}\n`);
    showTail("leader");
    failed = true;
  }
  followerCodes.forEach((code, k) => {
    // 143 is the conventional exit after SIGTERM: a clean stop. An early exit was told.
    if (code !== 0 && code !== 143 && !exitedEarly.has(k)) {
      say(`local-cluster: follower ${k + 2} stopped with code ${code}\n`);
      showTail(`follower ${k + 2}`);
      failed = true;
    }
  });
  await closeLog();
  await summarizeSession({ jsonPath, logPath, say });
  const profiles = flagValue(shared, "--cpu-prof");
  if (profiles !== undefined) say(`${howToOpenProfiles(profiles)}\n`);
  // The leader's own verdict (2 bad flags, 3 drops, ...) is the session's.
  if (leaderCode !== 0 && leaderCode < 128) return leaderCode;
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
