// The commands of the transcript files under src/raft/testdata: one small handler per
// command, looked up by name. Each handler drives the scripted Cluster and prints what
// happened; the command line itself is the transcript's record of the action, so every
// action a transcript depends on is written in its file.
//
//   add-nodes N [voters=(1,2,3)] [prevote=true] [checkquorum=true]
//             [async-storage-writes=true] [settle=false]
//   campaign ID | tick ID [COUNT] | tick-election ID | tick-heartbeat ID
//   propose ID "data" | propose-batch ID "a" "b" ... | read-index ID "ctx"
//   propose-conf-change ID add=N | add-learner=N | remove=N
//   transfer-leader FROM TO | isolate ID | heal
//   stabilize | deliver-msgs [ID] | process-ready ID
//   process-append-thread ID [COUNT] | process-apply-thread ID [COUNT]
//   status ID | log-level none|debug|info|warn
import type { Logger } from "../api.js";
import type { CommandArg } from "../datadriven/parse.js";
import type { CommandContext, Handler, Handlers } from "../datadriven/runner.js";
import { type ConfChange, ConfChangeType, EMPTY_BYTES } from "../types.js";
import { Cluster, type ClusterOptions } from "./cluster.js";
import { formatConfState } from "./format.js";

const LEVELS = ["none", "warn", "info", "debug"] as const;
type Level = (typeof LEVELS)[number];

/** What a transcript file acts on: its cluster (after add-nodes) and the log level. */
export class TranscriptState {
  private current: Cluster | undefined;
  level: Level = "none";

  get cluster(): Cluster {
    if (this.current === undefined) throw new Error("no cluster yet: start with add-nodes");
    return this.current;
  }

  start(opts: ClusterOptions): Cluster {
    this.current = new Cluster({
      ...opts,
      transcript: true,
      configure: (cfg) => {
        cfg.logger = this.logger();
      },
    });
    return this.current;
  }

  get started(): boolean {
    return this.current !== undefined;
  }

  /** A logger whose lines go into the transcript, filtered by the current log level. */
  private logger(): Logger {
    const at =
      (level: Level, tag: string) =>
      (msg: string): void => {
        if (LEVELS.indexOf(this.level) >= LEVELS.indexOf(level))
          this.current?.log(`  ${tag} ${msg}`);
      };
    return { warn: at("warn", "WARN"), info: at("info", "INFO"), debug: at("debug", "DEBUG") };
  }
}

type Ctx = CommandContext<TranscriptState>;

function positional(ctx: Ctx): string[] {
  return ctx.command.args.filter((a) => a.key === undefined).map((a) => a.values[0]!);
}

function keyed(ctx: Ctx, key: string): CommandArg | undefined {
  return ctx.command.args.find((a) => a.key === key);
}

function int(text: string | undefined, what: string): number {
  const n = Number(text);
  if (text === undefined || !Number.isSafeInteger(n) || n < 0) {
    throw new Error(`${what} must be a non-negative integer, got ${text ?? "nothing"}`);
  }
  return n;
}

function nodeArg(ctx: Ctx, at = 0): number {
  return int(positional(ctx)[at], "node id");
}

function flag(ctx: Ctx, key: string): boolean | undefined {
  const a = keyed(ctx, key);
  if (a === undefined) return undefined;
  if (a.values[0] !== "true" && a.values[0] !== "false")
    throw new Error(`${key} must be true or false`);
  return a.values[0] === "true";
}

const encoder = new TextEncoder();

/** Runs `fn`, then copies what the cluster logged meanwhile to the command's output. */
function logged(ctx: Ctx, fn: (c: Cluster) => void): void {
  const c = ctx.state.cluster;
  const from = c.transcript.length;
  try {
    fn(c);
  } finally {
    for (const line of c.transcript.slice(from)) ctx.print(line);
  }
}

function printStatus(ctx: Ctx, id: number): void {
  const n = ctx.state.cluster.node(id);
  const st = n.rn.status();
  ctx.print(
    `${id}: ${st.role} Term:${st.term} Vote:${st.vote} Commit:${st.commit} Lead:${st.lead} ` +
      `applied=${n.appliedIndex} ${formatConfState(n.confState)}`,
  );
}

const addNodes: Handler<TranscriptState> = (ctx) => {
  const count = nodeArg(ctx);
  const voters = keyed(ctx, "voters")?.values.map((v) => int(v, "voter"));
  if (!ctx.state.started) {
    if (voters === undefined) throw new Error("the first add-nodes needs voters=(...)");
    const ids = Array.from({ length: count }, (_, i) => i + 1);
    const c = ctx.state.start({
      ids,
      preVote: flag(ctx, "prevote"),
      checkQuorum: flag(ctx, "checkquorum"),
      asyncStorageWrites: flag(ctx, "async-storage-writes"),
    });
    // Settling the bootstrap is the same in every file; one file per mode shows it.
    if (flag(ctx, "settle") !== false) {
      c.stabilize();
      c.transcript.length = 0;
    }
    for (const id of ids) printStatus(ctx, id);
    return;
  }
  const c = ctx.state.cluster;
  const first = Math.max(...c.nodes.keys()) + 1;
  for (let id = first; id < first + count; id++) {
    c.addNode(id, voters);
    printStatus(ctx, id);
  }
};

const confChangeTypes: Record<string, ConfChangeType> = {
  add: ConfChangeType.AddNode,
  "add-learner": ConfChangeType.AddLearnerNode,
  remove: ConfChangeType.RemoveNode,
};

const handlers: Record<string, Handler<TranscriptState>> = {
  "add-nodes": addNodes,
  campaign: (ctx) => logged(ctx, (c) => c.node(nodeArg(ctx)).rn.campaign()),
  tick: (ctx) =>
    logged(ctx, (c) => {
      const count = positional(ctx).length > 1 ? int(positional(ctx)[1], "count") : 1;
      const rn = c.node(nodeArg(ctx)).rn;
      for (let i = 0; i < count; i++) rn.tick();
    }),
  "tick-election": (ctx) =>
    logged(ctx, (c) => {
      // Twice the election tick is past any randomized election timeout.
      const n = c.node(nodeArg(ctx));
      for (let i = 0; i < 2 * n.config.electionTick; i++) n.rn.tick();
    }),
  "tick-heartbeat": (ctx) =>
    logged(ctx, (c) => {
      const n = c.node(nodeArg(ctx));
      for (let i = 0; i < n.config.heartbeatTick; i++) n.rn.tick();
    }),
  propose: (ctx) =>
    logged(ctx, (c) => c.node(nodeArg(ctx)).rn.propose(encoder.encode(positional(ctx)[1] ?? ""))),
  "propose-batch": (ctx) =>
    logged(ctx, (c) => {
      const datas = positional(ctx)
        .slice(1)
        .map((d) => encoder.encode(d));
      if (datas.length === 0) throw new Error("propose-batch needs at least one entry");
      c.node(nodeArg(ctx)).rn.proposeBatch(datas);
    }),
  "read-index": (ctx) =>
    logged(ctx, (c) => c.node(nodeArg(ctx)).rn.readIndex(encoder.encode(positional(ctx)[1] ?? ""))),
  "propose-conf-change": (ctx) =>
    logged(ctx, (c) => {
      const change = ctx.command.args.find((a) => a.key !== undefined && a.key in confChangeTypes);
      if (change === undefined)
        throw new Error("propose-conf-change needs add=, add-learner= or remove=");
      const cc: ConfChange = {
        type: confChangeTypes[change.key!]!,
        nodeId: int(change.values[0], "node id"),
        context: EMPTY_BYTES,
      };
      c.node(nodeArg(ctx)).rn.proposeConfChange(cc);
    }),
  "transfer-leader": (ctx) =>
    logged(ctx, (c) => c.node(nodeArg(ctx, 0)).rn.transferLeader(nodeArg(ctx, 1))),
  // The cluster echoes these two itself; the command line already says it.
  isolate: (ctx) =>
    logged(ctx, (c) => {
      c.isolate(nodeArg(ctx));
      c.transcript.pop();
    }),
  heal: (ctx) =>
    logged(ctx, (c) => {
      c.heal();
      c.transcript.pop();
    }),
  stabilize: (ctx) => logged(ctx, (c) => c.stabilize()),
  "deliver-msgs": (ctx) =>
    logged(ctx, (c) => {
      c.deliver(positional(ctx).length > 0 ? nodeArg(ctx) : undefined);
    }),
  "process-ready": (ctx) =>
    logged(ctx, (c) => {
      if (!c.handleReady(nodeArg(ctx))) c.log("  no Ready");
    }),
  "process-append-thread": (ctx) =>
    logged(ctx, (c) => {
      const count = positional(ctx).length > 1 ? int(positional(ctx)[1], "count") : undefined;
      c.completeAppends(nodeArg(ctx), count);
    }),
  "process-apply-thread": (ctx) =>
    logged(ctx, (c) => {
      const count = positional(ctx).length > 1 ? int(positional(ctx)[1], "count") : undefined;
      c.completeApplies(nodeArg(ctx), count);
    }),
  status: (ctx) => printStatus(ctx, nodeArg(ctx)),
  "log-level": (ctx) => {
    const level = positional(ctx)[0] as Level;
    if (!LEVELS.includes(level)) throw new Error(`log-level must be one of ${LEVELS.join(", ")}`);
    ctx.state.level = level;
  },
};

export const transcriptCommands: Handlers<TranscriptState> = handlers;
