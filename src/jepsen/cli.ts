// rafttoy-jepsen's command line.
import { writeFileSync } from "node:fs";
import { type CommandSpec, flag, runCommand, text } from "../command/command.js";
import { FakeKvCluster } from "./fake-kv.js";
import { FAULT_KINDS, type FaultKind } from "./nemesis.js";
import { ProcessCluster } from "./process-cluster.js";
import { formatReport, recoveryByKind } from "./report.js";
import { runJepsen } from "./run.js";

const STRING_FLAGS = {
  nodes: "cluster size, 3 or 5 (default 3)",
  clients: "concurrent clients (default 10)",
  duration: "seconds of load (default 60)",
  nemesis: `comma-separated of ${FAULT_KINDS.join(", ")}, or none (default all)`,
  fault: "seconds each fault lasts (default 3)",
  calm: "seconds of calm after each fault (default 3)",
  timeout: "per-command deadline in ms; no reply in time = indeterminate (default 1000)",
  seed: "seeds the workload and the nemesis (default: the time)",
  history: "where the history is appended as it happens (default: none)",
  json: "the report as JSON, to this file",
  "kv-bin": "the rafttoy-kv program to run (default: this build's)",
} as const;

type JepsenFlags = { -readonly [K in keyof typeof STRING_FLAGS]: string | undefined } & {
  fake: boolean;
};

const JEPSEN: CommandSpec<JepsenFlags> = {
  name: "rafttoy-jepsen",
  usage: `$0 [flags] [-- rafttoy-kv flags]

Starts a rafttoy-kv cluster as processes on loopback (each with --admin-faults), runs
clients over RESP on a small key set (registers with unique values, an INCR counter, a
queue) while a seeded nemesis applies one fault at a time: SIGKILL and restart (kill),
SIGSTOP/SIGCONT (pause), killing the leader (leader-kill), partitions through each node's
RAFTTOY.PARTITION (the leader alone, a follower alone, a minority against the majority, two
halves joined by one bridge node), and removing a follower through DELETE /cluster/ID and
adding it back empty under a new id through --join (member). Records every operation
(invoke, complete, ok / failed / indeterminate), checks the history for linearizability and
prints operations, anomalies, write availability and each recovery.
Flags after -- go to every rafttoy-kv node (--pipeline, --wal, --engine …).
Exit status: 0 linearizable, 1 anomalies or a check that gave up, 2 bad usage or no cluster.`,
  flags: (y) => {
    let out = y;
    for (const [name, describe] of Object.entries(STRING_FLAGS)) {
      out = out.option(name, { type: "string", describe });
    }
    return out.option("fake", {
      type: "boolean",
      describe: "an in-process stand-in cluster instead of rafttoy-kv (tests the harness)",
    });
  },
  read: (raw) => {
    const values = { fake: flag(raw, "fake") } as JepsenFlags;
    for (const name of Object.keys(STRING_FLAGS) as (keyof typeof STRING_FLAGS)[]) {
      values[name] = text(raw, name);
    }
    return values;
  },
};

export interface JepsenIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export async function jepsenMain(argv: readonly string[], io: JepsenIo): Promise<number> {
  const dash = argv.indexOf("--");
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const kvArgs = dash < 0 ? [] : argv.slice(dash + 1);
  const lines = {
    stdout: (t: string) => io.out(t.trimEnd()),
    stderr: (t: string) => io.err(t.trimEnd()),
  };
  return runCommand(JEPSEN, own, (values) => jepsen(values, kvArgs, io), lines);
}

async function jepsen(
  values: JepsenFlags,
  kvArgs: readonly string[],
  io: JepsenIo,
): Promise<number> {
  const number = (
    name: string,
    raw: string | undefined,
    fallback: number,
    ok: (n: number) => boolean,
  ) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!ok(n)) throw new Error(`--${name} ${raw} is not valid`);
    return n;
  };
  let nodes: number;
  let clients: number;
  let duration: number;
  let fault: number;
  let calm: number;
  let timeout: number;
  let seed: number;
  let kinds: FaultKind[];
  try {
    nodes = number("nodes", values.nodes, 3, (n) => n === 3 || n === 5);
    clients = number("clients", values.clients, 10, (n) => Number.isInteger(n) && n >= 1);
    duration = number("duration", values.duration, 60, (n) => n > 0);
    fault = number("fault", values.fault, 3, (n) => n > 0);
    calm = number("calm", values.calm, 3, (n) => n >= 0);
    timeout = number("timeout", values.timeout, 1000, (n) => n > 0);
    seed = number("seed", values.seed, Date.now() % 1_000_000, Number.isSafeInteger);
    const list = values.nemesis ?? FAULT_KINDS.join(",");
    kinds = list === "none" ? [] : (list.split(",") as FaultKind[]);
    const unknown = kinds.find((k) => !FAULT_KINDS.includes(k));
    if (unknown !== undefined)
      throw new Error(`--nemesis: unknown fault ${unknown} (${FAULT_KINDS.join(", ")}, none)`);
  } catch (err) {
    io.err(`rafttoy-jepsen: ${(err as Error).message}`);
    return 2;
  }
  const log = (line: string) => io.err(line);
  log(
    `rafttoy-jepsen: seed ${seed}, ${nodes} nodes, ${clients} clients, ${duration} s, nemesis ${kinds.join(",") || "none"}${kvArgs.length > 0 ? `, rafttoy-kv ${kvArgs.join(" ")}` : ""}`,
  );
  let cluster: ProcessCluster | FakeKvCluster;
  try {
    if (values.fake) {
      const fake = new FakeKvCluster(nodes);
      await fake.start();
      cluster = fake;
    } else cluster = await ProcessCluster.start(nodes, kvArgs, log, values["kv-bin"]);
  } catch (err) {
    io.err(`rafttoy-jepsen: cannot start the cluster: ${(err as Error).message}`);
    return 2;
  }
  try {
    const outcome = await runJepsen(cluster, () => cluster.targets(), {
      durationMs: duration * 1000,
      workload: { clients, registers: 3, timeoutMs: timeout, seed },
      nemesis: { kinds, seed, faultMs: fault * 1000, calmMs: calm * 1000 },
      historyPath: values.history,
      log,
    });
    for (const line of outcome.checkText) io.out(line);
    for (const line of formatReport(outcome.report)) io.out(line);
    if (values.json !== undefined)
      writeFileSync(
        values.json,
        `${JSON.stringify({ seed, nodes, clients, duration, nemesis: kinds, kvArgs, ...outcome.report, recoveryByKind: recoveryByKind(outcome.report), faults: outcome.faults }, null, 2)}\n`,
      );
    return outcome.report.verdict === "linearizable" ? 0 : 1;
  } finally {
    await cluster.stop();
  }
}
