// rafttoy-kv's flags: every node flag of the other binaries (components, Raft timing,
// storage) plus the service's own (front-end addresses, join, redirect, reads, limits).
import type { Argv } from "yargs";
import type { ComponentRegistries } from "../node/components.js";
import type { PeerAddress } from "../node/options.js";
import { pipelineKinds, pipelineSpec } from "../pipeline/registry.js";
import { formatListen, type Listen, type ServiceOptions } from "../service/options.js";
import {
  type CliIo,
  flag,
  type ProgramSpec,
  parseProgramArgs,
  processIo,
  type Raw,
  text,
  UsageError,
  wholeNumber,
} from "./args.js";

const USAGE = [
  "$0 --peers HOST:PORT,... --id N [--resp HOST:PORT] [--http HOST:PORT] [flags]",
  "$0 --join http://HOST:PORT --listen HOST:PORT --id N [--resp HOST:PORT] [--http HOST:PORT] [flags]",
  "",
  "One node of the replicated key-value service: the Redis protocol (RESP2) and HTTP on",
  "every node, writes forwarded to the leader (or redirected with --redirect), reads",
  "linearizable by default. Runs until SIGINT or SIGTERM.",
].join("\n");

/** Pipelines whose followers never apply: a key-value node serves from its own state. */
const LAZY_PIPELINES = pipelineKinds.filter((p) => pipelineSpec(p).lazyFollowers === true);

const EPILOG = [
  `--pipeline ${LAZY_PIPELINES.join(", ")} is refused (exit 2): its followers never apply what commits, and every node serves reads and matches writes from its own state.`,
  "--peers lists the Raft addresses of the members the cluster starts with (the i-th has id i). A node joining later gives --join with any member's HTTP address, --listen with its own Raft address and --id with an id no member has: it learns the members' addresses from the member it joins through, is added as a learner, caught up (by snapshot when the log was compacted), then promoted to voter. (The older form, --peers listing the members with the joiner appended and --id its position, still works.)",
  "HTTP: PUT/GET/DELETE /kv/KEY, GET /kv?prefix=P, POST /queue/NAME, POST /queue/NAME/pop, GET /cluster, POST /cluster/join, DELETE /cluster/ID, GET /health, GET /metrics.",
].join("\n\n");

function kvFlags(y: Argv): Argv {
  return y
    .option("resp", {
      type: "string",
      describe: "where the Redis protocol (RESP2) server listens, host:port (port 0: any free one)",
      default: "127.0.0.1:6379",
    })
    .option("http", {
      type: "string",
      describe: "where the HTTP server listens, host:port",
      default: "127.0.0.1:8080",
    })
    .option("listen", {
      type: "string",
      describe:
        "with --join and instead of --peers: this node's Raft address, host:port (the members' addresses are learnt from the --join member)",
    })
    .option("join", {
      type: "string",
      describe:
        "join a running cluster through this member's HTTP address (http://host:port): this node starts empty and is added at run time",
    })
    .option("redirect", {
      type: "boolean",
      describe:
        "on a follower, answer writes with -MOVED 0 host:port (RESP) or 307 + Location (HTTP) instead of forwarding them to the leader",
      default: false,
    })
    .option("reads", {
      type: "string",
      describe:
        "linearizable: reads wait for a ReadIndex round (one per loop turn for all waiting reads); stale: from this node's state machine at once",
      default: "linearizable",
    })
    .option("admin-faults", {
      type: "boolean",
      describe:
        "answer RAFTTOY.PARTITION id… / RAFTTOY.HEAL over RESP: drop all Raft traffic to and from those peers until healed (fault tests only)",
      default: false,
    })
    .option("max-key-bytes", {
      type: "string",
      describe: "refuse keys longer than this (0: no limit); nothing is proposed",
      default: "0",
    })
    .option("max-value-bytes", {
      type: "string",
      describe:
        "refuse values longer than this (0: no limit; HTTP bodies are capped at 16 MiB then)",
      default: "0",
    })
    .option("max-keys", {
      type: "string",
      describe: "refuse writes that would add a key once this many exist (0: no limit)",
      default: "0",
    });
}

function listen(raw: Raw, name: string): Listen {
  const value = text(raw, name)!;
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (m === null || port > 65535) {
    throw new UsageError(
      `--${name} ${JSON.stringify(value)} is not host:port: write e.g. 127.0.0.1:6379`,
    );
  }
  return { host: m[1] ?? m[2]!, port };
}

function joinUrl(raw: Raw): string | undefined {
  const value = text(raw, "join");
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value.includes("://") ? value : `http://${value}`);
  } catch {
    throw new UsageError(
      `--join ${JSON.stringify(value)} is not a URL: write e.g. http://127.0.0.1:8080`,
    );
  }
  if (url.protocol !== "http:") {
    throw new UsageError(`--join ${JSON.stringify(value)}: only http:// is served by the members`);
  }
  return url.origin;
}

/** --listen (with --join, without --peers): this node alone, with the id --id gives. */
function joinerPeers(raw: Raw): PeerAddress[] | undefined {
  if (text(raw, "listen") === undefined) return undefined;
  if (text(raw, "peers") !== undefined) {
    throw new UsageError(
      "--listen and --peers are both given: a joining node gives --listen (its own Raft address), a starting member --peers",
    );
  }
  if (text(raw, "join") === undefined) {
    throw new UsageError(
      "--listen needs --join http://HOST:PORT: only a joining node learns the members instead of listing them in --peers",
    );
  }
  const self = listen(raw, "listen");
  if (self.port === 0) {
    throw new UsageError("--listen needs a port (the members dial it): e.g. 127.0.0.1:7004");
  }
  if (text(raw, "id") === undefined) {
    throw new UsageError("--id is missing: give the joining node an id no member has, e.g. --id 4");
  }
  const id = wholeNumber(raw, "id", 1);
  return [{ id, host: self.host, port: self.port, address: formatListen(self) }];
}

export const KV_PROGRAM: ProgramSpec<ServiceOptions> = {
  name: "rafttoy-kv",
  usage: USAGE,
  epilog: EPILOG,
  flags: kvFlags,
  ownPeers: joinerPeers,
  read(raw, node) {
    const reads = text(raw, "reads")!;
    if (reads !== "linearizable" && reads !== "stale") {
      throw new UsageError(
        `--reads ${JSON.stringify(reads)} is unknown: use linearizable or stale`,
      );
    }
    const resp = listen(raw, "resp");
    const http = listen(raw, "http");
    if (resp.port !== 0 && resp.port === http.port && resp.host === http.host) {
      throw new UsageError(
        `--resp and --http are both ${resp.host}:${resp.port}: give each its own port`,
      );
    }
    if (pipelineSpec(node.pipeline).lazyFollowers === true) {
      throw new UsageError(
        `--pipeline ${node.pipeline} leaves followers' state unapplied, and a key-value node serves from its own state: choose another --pipeline`,
      );
    }
    const join = joinUrl(raw);
    return {
      ...node,
      resp,
      http,
      ...(join === undefined ? {} : { join }),
      redirect: flag(raw, "redirect"),
      adminFaults: flag(raw, "admin-faults"),
      reads,
      limits: {
        maxKeyBytes: wholeNumber(raw, "max-key-bytes", 0),
        maxValueBytes: wholeNumber(raw, "max-value-bytes", 0),
        maxKeys: wholeNumber(raw, "max-keys", 0),
      },
    };
  },
};

/** Parses rafttoy-kv's flags; bad input: one line on stderr and exit 2; --help: exit 0. */
export function parseKvArgs(
  argv: readonly string[],
  registries: ComponentRegistries,
  io: CliIo = processIo,
): ServiceOptions {
  return parseProgramArgs(KV_PROGRAM, argv, registries, io);
}
