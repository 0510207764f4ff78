// The binaries' flags, mapped onto the options types their components define (NodeOptions
// in src/node/, LeaderOptions in src/bench/): this file only parses and checks text.
import type { Argv } from "yargs";
import { type Benchtime, parseBenchtime } from "../bench/benchtime.js";
import { DEFAULT_KEYS, type KeySpec, parseKeySpec } from "../bench/keys.js";
import type { LeaderOptions } from "../bench/leader-options.js";
import { DEFAULT_BYTES, DEFAULT_CONCS, selectCases } from "../bench/matrix.js";
import { commandParser, flag, parseWith, type Raw, text } from "../command/command.js";
import { InvariantViolation, USAGE_EXIT_CODE, UsageError } from "../errors/errors.js";
import type { ComponentChoice, ComponentRegistries } from "../node/components.js";
import type { NodeOptions, PeerAddress } from "../node/options.js";
import { type CompactEvery, parseCompactEvery } from "../peer/compaction.js";
import { MAX_INFLIGHT_MSGS } from "../peer/limits.js";
import { type NetDelay, parseNetDelay } from "../transport/net-delay.js";
import { parseDuration } from "../units/duration.js";
import { EXIT_DROPPED } from "./exit-codes.js";
import { parsePeers } from "./peers.js";

/** Where the parser writes and how it ends the process; injectable for tests. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  exit(code: number): never;
}

export const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  exit: (code) => process.exit(code),
};

export { flag, type Raw, text, USAGE_EXIT_CODE, UsageError };

type Program = "rafttoy-follower" | "rafttoy-leader";

const BOOLEAN_FLAGS = new Set(["metrics", "help", "allow-drops", "sweep", "redirect"]);

/**
 * The flags every process of one cluster must share (components and Raft timing), as
 * opposed to its identity (--peers, --id, --data-dir) and the leader's benchmark flags.
 * The local-cluster launcher forwards exactly these to all three processes.
 */
export const SHARED_NODE_FLAGS = [
  "pipeline",
  "wal",
  "disk-delay",
  "wal-delay",
  "engine",
  "transport",
  "net-delay",
  "metrics",
  "tick",
  "election-ticks",
  "heartbeat-ticks",
  "cpu-prof",
  "compact-every",
  "max-inflight",
] as const;

/** Whether a flag takes no value. */
export function isBooleanFlag(name: string): boolean {
  return BOOLEAN_FLAGS.has(name);
}

function describeChoice(what: string, choice: ComponentChoice): string {
  return `${what}: ${choice.names.join(", ")}`;
}

function nodeFlags(y: Argv, registries: ComponentRegistries): Argv {
  return y
    .option("peers", {
      type: "string",
      describe: "every member as host:port, comma-separated; the i-th has id i (from 1) [required]",
    })
    .option("id", {
      type: "string",
      describe: "this process's id: its position in --peers [required]",
    })
    .option("data-dir", {
      type: "string",
      describe: "where the WAL and engine keep their files",
      default: ".data/node-<id>",
    })
    .option("pipeline", {
      type: "string",
      describe: describeChoice("how each Ready is handled", registries.pipeline),
      default: registries.pipeline.default,
    })
    .option("wal", {
      type: "string",
      describe: describeChoice("write-ahead log", registries.wal),
      default: registries.wal.default,
    })
    .option("disk-delay", {
      alias: "wal-delay",
      type: "string",
      describe:
        "delay added after each durable sync on every WAL (mem, file, lmdb), never blocking " +
        "the event loop, e.g. 2ms (--wal-delay is its old name)",
      default: "0",
    })
    .option("engine", {
      type: "string",
      describe:
        `${describeChoice("storage engine", registries.engine)}. ` +
        "--wal lmdb with --engine lmdb opens the combined lmdb storage: entries and hard " +
        "state in one transaction (one durable commit per Ready) in <data-dir>/lmdb",
      default: registries.engine.default,
    })
    .option("transport", {
      type: "string",
      describe: describeChoice("transport between the processes", registries.transport),
      default: registries.transport.default,
    })
    .option("net-delay", {
      type: "string",
      describe:
        "one-way delay the transport adds to every link, optionally with uniform jitter as " +
        "D±J (or D+-J), e.g. 1ms or 1ms±200us; FIFO per link (the kernel here has no netem)",
      default: "0",
    })
    .option("metrics", {
      type: "boolean",
      describe: "record per-stage histograms and print them at exit",
      default: false,
    })
    .option("tick", { type: "string", describe: "Raft tick interval (duration)", default: "100ms" })
    .option("election-ticks", {
      type: "string",
      describe: "ticks without a leader before an election",
      default: "10",
    })
    .option("heartbeat-ticks", {
      type: "string",
      describe: "ticks between leader heartbeats",
      default: "1",
    })
    .option("cpu-prof", {
      type: "string",
      describe:
        "write this process's CPU profile to DIR/<role>.cpuprofile at exit (leader, kv-<id>, " +
        "follower-<id>); open it in Chrome DevTools (Performance tab, Load profile)",
    })
    .option("compact-every", {
      type: "string",
      describe:
        "compact the log once this much more than it keeps is applied, keeping as much: " +
        "entries (50000, 50k), bytes of entry data (64MiB), both (whichever first), or " +
        "off. A follower that falls further behind is caught up with a snapshot",
      default: "50k,64MiB",
    })
    .option("max-inflight", {
      type: "string",
      describe:
        "appends the leader keeps in flight to each follower before it waits for an answer; " +
        "what is proposed meanwhile rides in the next append",
      default: String(MAX_INFLIGHT_MSGS),
    });
}

function leaderFlags(y: Argv): Argv {
  return y
    .option("bench", {
      type: "string",
      describe: "regex selecting benchmarks by name, e.g. conc=64/bytes=256 (see below)",
      default: ".",
    })
    .option("benchtime", {
      type: "string",
      describe: "length of each run: a duration (2s, 500ms) or a proposal count (100000x)",
      default: "1s",
    })
    .option("count", { type: "string", describe: "runs of each benchmark", default: "1" })
    .option("maxrate", {
      type: "string",
      describe:
        "open loop: issue this many proposals per second instead of running conc workers (0: off)",
      default: "0",
    })
    .option("json", {
      type: "string",
      describe: "write every result, the configuration and the histograms to this file",
    })
    .option("keys", {
      type: "string",
      describe:
        "keys the proposals write: N (uniform over N keys), unique (a fresh key each), or zipf:S (Zipf-skewed over 100000 keys)",
      default: String(DEFAULT_KEYS),
    })
    .option("allow-drops", {
      type: "boolean",
      describe: `exit 0 even when proposals were dropped or timed out (else exit ${EXIT_DROPPED})`,
      default: false,
    })
    .option("sweep", {
      type: "boolean",
      describe:
        "latency-throughput sweep: after the closed-loop cases (the capacity), the open loop " +
        "at 10 %, 20 %, ... 120 % of it per payload size, named sweep=P%/bytes=N (drops in " +
        "overloaded steps are expected and do not fail the run)",
      default: false,
    });
}

const DURATIONS_NOTE =
  "Durations are a number with a unit (ns, us, ms, s, m, h), e.g. 5ms, 2s, 1m30s.";

const BENCH_NOTE = [
  `Benchmark names are conc=<workers>/bytes=<proposal size>; the defaults are conc in {${DEFAULT_CONCS.join(", ")}} and bytes in {${DEFAULT_BYTES.join(", ")}}.`,
  "--bench is matched, unanchored as in Go, against every name built from the default lists plus the values the regex spells out as conc=N, bytes=N or conc=(N|M): 'conc=512/bytes=1024' runs exactly that case, 'bytes=1024' runs the default conc sweep at 1024 bytes, 'conc=1/' only conc=1.",
  "With --maxrate R the names are maxrate=R/bytes=<size>.",
  "Each result line: BenchmarkRaft/<name>-<cores>  N  ns/op  MB/s  p50-ns  p99-ns  cpu-us/op, then in the open loop R target-ops/s and A achieved-ops/s, and K dropped when proposals failed.",
].join("\n\n");

/**
 * Another binary built on a node (rafttoy-kv): the node's flags plus its own, read after the
 * node's options. Its own flags that take no value must be in BOOLEAN_FLAGS.
 */
export interface ProgramSpec<T> {
  name: string;
  usage: string;
  epilog?: string;
  flags(y: Argv): Argv;
  read(raw: Raw, node: NodeOptions): T;
  /**
   * The members to start with when the program's own flags say them instead of --peers
   * (rafttoy-kv --join with --listen: only this node, the rest learnt at run time);
   * undefined: --peers is required as usual.
   */
  ownPeers?(raw: Raw): PeerAddress[] | undefined;
}

function build(
  program: Program | ProgramSpec<unknown>,
  registries: ComponentRegistries,
  argv: readonly string[],
): Argv {
  const spec = typeof program === "string" ? undefined : program;
  let y = commandParser(
    spec?.name ?? (program as Program),
    spec !== undefined
      ? spec.usage
      : program === "rafttoy-leader"
        ? "$0 --peers HOST:PORT,... --id N [flags]\n\nCampaigns until it leads, runs the selected benchmarks against the followers and prints one Go-style line per run."
        : "$0 --peers HOST:PORT,... --id N [flags]\n\nServes as a Raft follower until stopped (SIGINT or SIGTERM).",
    argv,
  );
  y = nodeFlags(y, registries);
  if (spec !== undefined) {
    y = spec.flags(y).epilog(spec.epilog ? `${spec.epilog}\n\n${DURATIONS_NOTE}` : DURATIONS_NOTE);
  } else if (program === "rafttoy-leader") {
    y = leaderFlags(y).epilog(`${BENCH_NOTE}\n\n${DURATIONS_NOTE}`);
  } else y = y.epilog(DURATIONS_NOTE);
  return y;
}

function required(raw: Raw, flag: string, hint: string): string {
  const value = text(raw, flag);
  if (value === undefined) throw new UsageError(`--${flag} is missing: ${hint}`);
  return value;
}

export function wholeNumber(raw: Raw, flag: string, min: number): number {
  const s = text(raw, flag)!;
  const n = /^\d+$/.test(s.trim()) ? Number(s) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min) {
    throw new UsageError(
      `--${flag} ${JSON.stringify(s)} is not a whole number >= ${min}: give e.g. --${flag} ${Math.max(min, 1)}`,
    );
  }
  return n;
}

export function duration(raw: Raw, flag: string, positive: boolean): number {
  const s = text(raw, flag)!;
  let ms: number;
  try {
    ms = parseDuration(s);
  } catch (error) {
    throw new UsageError(`--${flag}: ${(error as Error).message}`);
  }
  if (positive && ms <= 0) throw new UsageError(`--${flag} must be above 0, e.g. --${flag} 100ms`);
  return ms;
}

function netDelay(raw: Raw): NetDelay {
  try {
    return parseNetDelay(text(raw, "net-delay")!, parseDuration);
  } catch (error) {
    throw new UsageError(`--net-delay: ${(error as Error).message}`);
  }
}

function keySpec(textValue: string): KeySpec {
  try {
    return parseKeySpec(textValue);
  } catch (error) {
    throw new UsageError(`--keys ${(error as Error).message}`);
  }
}

function component(raw: Raw, flag: string, choice: ComponentChoice): string {
  const name = text(raw, flag)!;
  if (!choice.names.includes(name)) {
    throw new UsageError(
      `--${flag} ${JSON.stringify(name)} is unknown: use one of ${choice.names.join(", ")}`,
    );
  }
  return name;
}

/**
 * `--benchtime -1s` would reach yargs as the flags -1 and -s ("unknown argument 1"): a
 * value that looks like a negative number is attached to the flag before it
 * (`--benchtime=-1s`), so that the flag's own check can say what is wrong with it.
 */
export function attachNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const takesValue = /^--[a-z][a-z-]*$/.test(arg) && !BOOLEAN_FLAGS.has(arg.slice(2));
    if (takesValue && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** `--metrics=maybe` would otherwise read as false without a word. */
function checkBooleanSpellings(argv: readonly string[]): void {
  for (const arg of argv) {
    const m = /^--(?:no-)?([a-z-]+)=(.*)$/.exec(arg);
    if (m && BOOLEAN_FLAGS.has(m[1]!) && m[2] !== "true" && m[2] !== "false") {
      throw new UsageError(
        `--${m[1]} takes no value (or =true / =false), got ${JSON.stringify(arg)}`,
      );
    }
  }
}

function readNodeOptions(
  raw: Raw,
  registries: ComponentRegistries,
  own?: PeerAddress[],
): NodeOptions {
  let peers: PeerAddress[];
  let id: number;
  if (own !== undefined) {
    peers = own;
    id = own[0]!.id;
  } else {
    try {
      peers = parsePeers(
        required(
          raw,
          "peers",
          "list every member, e.g. --peers 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003",
        ),
      );
    } catch (error) {
      throw error instanceof UsageError ? error : new UsageError((error as Error).message);
    }
    const range = `1..${peers.length}`;
    const idText = required(raw, "id", `give this process's position in --peers (${range})`);
    id = /^\d+$/.test(idText.trim()) ? Number(idText) : Number.NaN;
    if (!Number.isSafeInteger(id) || id < 1 || id > peers.length) {
      throw new UsageError(
        `--id ${JSON.stringify(idText)} is not a member: pick ${range} (its position in --peers)`,
      );
    }
  }
  const dataDirFlag = text(raw, "data-dir")!;
  const electionTicks = wholeNumber(raw, "election-ticks", 2);
  const heartbeatTicks = wholeNumber(raw, "heartbeat-ticks", 1);
  if (heartbeatTicks >= electionTicks) {
    throw new UsageError(
      `--heartbeat-ticks ${heartbeatTicks} must be below --election-ticks ${electionTicks}: raise --election-ticks or lower --heartbeat-ticks`,
    );
  }
  return {
    peers,
    id,
    dataDir: dataDirFlag === ".data/node-<id>" ? `.data/node-${id}` : dataDirFlag,
    pipeline: component(raw, "pipeline", registries.pipeline),
    wal: component(raw, "wal", registries.wal),
    diskDelayMs: duration(raw, "disk-delay", false),
    engine: component(raw, "engine", registries.engine),
    transport: component(raw, "transport", registries.transport),
    netDelay: netDelay(raw),
    metrics: flag(raw, "metrics"),
    tickMs: duration(raw, "tick", true),
    electionTicks,
    heartbeatTicks,
    ...(raw["cpu-prof"] === undefined ? {} : { cpuProf: text(raw, "cpu-prof")! }),
    compactEvery: compactEvery(text(raw, "compact-every")!),
    maxInflightMsgs: wholeNumber(raw, "max-inflight", 1),
  };
}

function compactEvery(value: string): CompactEvery {
  try {
    return parseCompactEvery(value);
  } catch (error) {
    throw new UsageError(`--compact-every ${(error as Error).message}`);
  }
}

function readLeaderOptions(raw: Raw, registries: ComponentRegistries): LeaderOptions {
  const node = readNodeOptions(raw, registries);
  const benchSource = text(raw, "bench")!;
  let bench: RegExp;
  try {
    bench = new RegExp(benchSource);
  } catch (error) {
    throw new UsageError(
      `--bench ${JSON.stringify(benchSource)} is not a valid regex (${(error as Error).message.replace(/^Invalid regular expression: /, "")})`,
    );
  }
  let benchtime: Benchtime;
  try {
    benchtime = parseBenchtime(text(raw, "benchtime")!);
  } catch (error) {
    throw new UsageError(`--benchtime ${(error as Error).message}`);
  }
  const maxrateText = text(raw, "maxrate")!;
  const maxrate = /^\d+(\.\d+)?$/.test(maxrateText.trim()) ? Number(maxrateText) : Number.NaN;
  if (!Number.isFinite(maxrate)) {
    throw new UsageError(
      `--maxrate ${JSON.stringify(maxrateText)} is not a rate: give proposals per second, e.g. --maxrate 50000 (0: closed loop)`,
    );
  }
  if (selectCases(bench, maxrate).length === 0) {
    const example = maxrate > 0 ? `maxrate=${maxrate}/bytes=256` : "conc=64/bytes=256";
    throw new UsageError(
      `--bench ${JSON.stringify(benchSource)} matches no benchmark: names look like ${example}`,
    );
  }
  const sweep = flag(raw, "sweep");
  if (sweep && maxrate > 0) {
    throw new UsageError(
      "--sweep and --maxrate both choose the open loop's rate: give one (--sweep measures the capacity first)",
    );
  }
  return {
    ...node,
    bench,
    benchtime,
    count: wholeNumber(raw, "count", 1),
    maxrate,
    json: text(raw, "json"),
    allowDrops: flag(raw, "allow-drops"),
    keys: keySpec(text(raw, "keys")!),
    sweep,
  };
}

function checkRegistries(registries: ComponentRegistries): void {
  for (const [flag, choice] of Object.entries(registries) as [string, ComponentChoice][]) {
    // The binary's own wiring, not the user's input: a default no registry offers.
    if (!choice.names.includes(choice.default)) {
      throw new InvariantViolation(
        "cli",
        "default-registered",
        `the default --${flag} ${choice.default} is not among ${choice.names.join(", ")}`,
      );
    }
  }
}

function parse<T>(
  program: Program | ProgramSpec<unknown>,
  argv: readonly string[],
  registries: ComponentRegistries,
  io: CliIo,
  read: (raw: Raw, registries: ComponentRegistries) => T,
): T {
  checkRegistries(registries);
  try {
    checkBooleanSpellings(argv);
    const args = attachNegativeValues(argv);
    const parsed = parseWith(build(program, registries, args), args);
    if ("help" in parsed) {
      io.stdout(`${parsed.help}\n`);
      return io.exit(0);
    }
    const stray = (parsed.raw._ as unknown[])[0];
    if (stray !== undefined) {
      throw new UsageError(
        `unknown argument ${JSON.stringify(String(stray))}: remove it (run with --help for the flags)`,
      );
    }
    return read(parsed.raw, registries);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${typeof program === "string" ? program : program.name}: ${error.message}\n`);
    return io.exit(USAGE_EXIT_CODE);
  }
}

/**
 * Parses the follower's flags (argv without node and the script, e.g. process.argv.slice(2)).
 * Bad input ends the process: one line on stderr saying what to change, exit code 2. --help
 * prints the help on stdout and exits with 0.
 */
export function parseFollowerArgs(
  argv: readonly string[],
  registries: ComponentRegistries,
  io: CliIo = processIo,
): NodeOptions {
  return parse("rafttoy-follower", argv, registries, io, readNodeOptions);
}

/** Parses the flags of a binary built on a node: the node's flags, then the spec's own. */
export function parseProgramArgs<T>(
  spec: ProgramSpec<T>,
  argv: readonly string[],
  registries: ComponentRegistries,
  io: CliIo = processIo,
): T {
  return parse(spec as ProgramSpec<unknown>, argv, registries, io, (raw, r) =>
    spec.read(raw, readNodeOptions(raw, r, spec.ownPeers?.(raw))),
  ) as T;
}

/** Parses the leader's flags: the follower's plus --bench, --benchtime, --count, --maxrate, --json. */
export function parseLeaderArgs(
  argv: readonly string[],
  registries: ComponentRegistries,
  io: CliIo = processIo,
): LeaderOptions {
  return parse("rafttoy-leader", argv, registries, io, readLeaderOptions);
}

/** Ends a parse that was run only to learn its verdict. */
class ParseEnded extends Error {}

/**
 * The usage error a node binary would print for `argv` (without its "name: " head), or
 * undefined when the flags parse: for launchers (local-cluster, kv-cluster) that forward
 * flags to the processes they start, so that a bad flag is refused before any starts.
 * Placeholders stand for the flags the launcher itself adds (--peers, --id).
 */
export function forwardedFlagsError(
  program: "rafttoy-leader" | ProgramSpec<unknown>,
  argv: readonly string[],
  registries: ComponentRegistries,
): string | undefined {
  let line: string | undefined;
  const io: CliIo = {
    stdout: () => {},
    stderr: (text) => {
      line = text.trimEnd();
    },
    exit: () => {
      throw new ParseEnded();
    },
  };
  const withPlaceholders = ["--peers", "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3", "--id", "1", ...argv];
  try {
    if (program === "rafttoy-leader") parseLeaderArgs(withPlaceholders, registries, io);
    else parseProgramArgs(program, withPlaceholders, registries, io);
  } catch (error) {
    if (!(error instanceof ParseEnded)) throw error;
  }
  return line?.replace(/^[^:]+: /, "");
}
