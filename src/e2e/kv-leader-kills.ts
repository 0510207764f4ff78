// How long writes stop when the key-value service's leader is SIGKILLed: a 3-node cluster of
// rafttoy-kv processes on loopback, the leader killed again and again; after each kill the
// time until a write through a survivor first succeeds, then the killed node is restarted
// and caught up before the next kill. One line per kill, then the median and the maximum.
// `node dist/src/e2e/kv-leader-kills.js --kills 10 [-- rafttoy-kv flags]`.
import { pathToFileURL } from "node:url";
import { Redis } from "ioredis";
import { KvCluster } from "../cmd/kv-cluster.js";
import { type CommandSpec, intFlag, runCommand } from "../command/command.js";
import { retryUntil, sleep } from "../testing/retry.js";

interface Options {
  kills: number;
  nodeArgs: string[];
}

const SPEC: CommandSpec<Options> = {
  name: "kv-leader-kills",
  usage: [
    "$0 [--kills N] [-- rafttoy-kv flags]",
    "",
    "Starts three rafttoy-kv nodes on loopback, SIGKILLs the leader N times and prints, for",
    "each kill, the milliseconds until a write through a surviving node succeeded again;",
    "the killed node is restarted and caught up before the next kill.",
  ].join("\n"),
  flags: (y) =>
    y.option("kills", { type: "string", describe: "leader kills to measure", default: "10" }),
  words: { min: 0, max: 64, what: "rafttoy-kv flags (after --)" },
  read: (raw, words) => ({ kills: intFlag(raw, "kills", 1, 1000, 10), nodeArgs: [...words] }),
};

/** One SET through `port` that gives up after `timeoutMs` (a write sent to a dead leader). */
async function setOnce(port: number, key: string, timeoutMs: number): Promise<void> {
  const redis = new Redis({
    port,
    host: "127.0.0.1",
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    lazyConnect: true,
  });
  try {
    await redis.connect();
    const reply = await redis.set(key, "1");
    if (reply !== "OK") throw new Error(`SET answered ${String(reply)}`);
  } finally {
    redis.disconnect();
  }
}

/** Kills the leader once; returns the milliseconds until a survivor took a write. */
async function killOnce(c: KvCluster, round: number): Promise<number> {
  const leader = await c.leader();
  const survivor = (await c.follower()).respPort;
  await setOnce(survivor, `before-${round}`, 5000);
  await c.kill(leader.id, "SIGKILL");
  const t0 = Date.now();
  // The same retry as the process test: 500 ms per try, a new try 50 ms after a failure.
  await retryUntil("a write through a survivor", () => setOnce(survivor, `after-${round}`, 500));
  const resumed = Date.now() - t0;
  await c.restart(leader.id);
  const back = c.node(leader.id).respPort;
  await retryUntil("the restarted node takes a write", () => setOnce(back, `back-${round}`, 2000));
  await c.leader();
  return resumed;
}

async function measure(opts: Options): Promise<number> {
  const c = await KvCluster.start({ args: opts.nodeArgs });
  const figures: number[] = [];
  try {
    for (let round = 1; round <= opts.kills; round++) {
      const ms = await killOnce(c, round);
      figures.push(ms);
      process.stdout.write(`kill ${round}: writes resumed after ${ms} ms\n`);
      // The restarted node's connections and the followers' view of the new leader settle.
      await sleep(1000);
    }
  } finally {
    await c.stop();
  }
  const sorted = [...figures].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  process.stdout.write(
    `${figures.length} kills: median ${median} ms, max ${sorted[sorted.length - 1]} ms (${figures.join(", ")})\n`,
  );
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  runCommand(SPEC, process.argv.slice(2), measure).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(
        `kv-leader-kills: ${err instanceof Error ? err.message : String(err)}\n`,
      );
      process.exit(1);
    },
  );
}
