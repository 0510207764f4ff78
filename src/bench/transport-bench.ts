// Micro-benchmark of the transport: the wire codec's encode and decode cost per entry, and
// one-way throughput of MsgApp batches through GrpcTransport and TcpTransport between two
// processes on loopback (this process sends, a forked child receives). Prints Go-style
// result lines.
//
//   node dist/src/bench/transport-bench.js [--mode all|codec|grpc|tcp] [--seconds 3]
//     [--entries 1024] [--bytes 280] [--window 16777216]
import { type ChildProcess, fork } from "node:child_process";
import { createServer } from "node:net";
import { cpus } from "node:os";
import { type CommandSpec, intFlag, parseOrExit, type Raw, text } from "../command/command.js";
import { UsageError } from "../errors/errors.js";
import type { Entry, Message } from "../raft/types.js";
import { EntryType, MessageType, makeMessage } from "../raft/types.js";
import { decodeBatch } from "../transport/codec/decode.js";
import { BatchEncoder } from "../transport/codec/encode.js";
import { GrpcTransport } from "../transport/grpc-transport.js";
import { TcpTransport } from "../transport/tcp-transport.js";

const CORES = cpus().length;
const MiB = 1024 * 1024;

const MODES = ["all", "codec", "grpc", "tcp"] as const;

interface TransportBenchOptions {
  mode: (typeof MODES)[number];
  seconds: number;
  entries: number;
  bytes: number;
  window: number;
  /** Set in the forked receiver only: its transport kind and the peers to serve. */
  receiver: { kind: "grpc" | "tcp"; peers: string } | undefined;
}

function nonNegativeInt(raw: Raw, name: string, fallback: number): number {
  return intFlag(raw, name, 0, Number.MAX_SAFE_INTEGER, fallback);
}

const TRANSPORT_BENCH: CommandSpec<TransportBenchOptions> = {
  name: "transport-bench",
  usage: `$0 [--mode all|codec|grpc|tcp] [--seconds S] [--entries N] [--bytes N] [--window BYTES]

The wire codec's encode and decode cost per entry, and one-way MsgApp throughput through the gRPC and TCP transports to a forked receiver on loopback; Go-style lines.`,
  flags: (y) =>
    y
      .option("mode", { type: "string", choices: MODES, describe: "what to measure (default all)" })
      .option("seconds", { type: "string", describe: "seconds per transport case (default 3)" })
      .option("entries", { type: "string", describe: "entries per MsgApp (default 1024)" })
      .option("bytes", { type: "string", describe: "bytes per entry (default 280)" })
      .option("window", {
        type: "string",
        describe: `gRPC flow-control window in bytes (default ${16 * MiB})`,
      })
      .option("receiver", { type: "string", hidden: true })
      .option("kind", { type: "string", hidden: true })
      .option("peers", { type: "string", hidden: true }),
  read: (raw) => {
    const secondsText = text(raw, "seconds") ?? "3";
    const seconds = Number(secondsText);
    if (!(seconds > 0)) {
      throw new UsageError(`--seconds must be a positive number, got "${secondsText}"`);
    }
    return {
      mode: (text(raw, "mode") ?? "all") as TransportBenchOptions["mode"],
      seconds,
      entries: nonNegativeInt(raw, "entries", 1024),
      bytes: nonNegativeInt(raw, "bytes", 280),
      window: nonNegativeInt(raw, "window", 16 * MiB),
      receiver:
        raw.receiver === undefined
          ? undefined
          : { kind: text(raw, "kind") === "tcp" ? "tcp" : "grpc", peers: text(raw, "peers") ?? "" },
    };
  },
};

const values = parseOrExit(TRANSPORT_BENCH, process.argv.slice(2));
const seconds = values.seconds;
const entryCount = values.entries;
const entryBytes = values.bytes;
const flowControlWindow = values.window;

function batchMessage(to: number, firstIndex: number): Message {
  const data = new Uint8Array(entryBytes).fill(0x5a);
  const entries: Entry[] = [];
  for (let i = 0; i < entryCount; i++) {
    entries.push({ term: 5, index: firstIndex + i, type: EntryType.Normal, data });
  }
  return makeMessage({
    type: MessageType.MsgApp,
    from: 1,
    to,
    term: 5,
    logTerm: 5,
    index: firstIndex - 1,
    commit: firstIndex - 1,
    entries,
  });
}

function line(name: string, n: number, nsPerOp: number, extra: string): void {
  console.log(`${name}-${CORES}\t${n}\t${nsPerOp.toFixed(0)} ns/op\t${extra}`);
}

// ---------------------------------------------------------------------------------------
// Codec

function timeLoop(fn: () => void, minMs: number): { n: number; nsPerOp: number } {
  for (let i = 0; i < 50; i++) fn();
  let n = 0;
  const t0 = performance.now();
  let elapsed = 0;
  while (elapsed < minMs) {
    for (let i = 0; i < 20; i++) fn();
    n += 20;
    elapsed = performance.now() - t0;
  }
  return { n, nsPerOp: (elapsed * 1e6) / n };
}

function benchCodec(): void {
  const epoch = { start: Date.now(), iteration: 3 };
  const msg = batchMessage(2, 1_000_000);
  const encoder = new BatchEncoder();
  const bytes = encoder.encode(epoch, 1, [msg]);
  const ms = Math.min(1000, seconds * 1000);
  const enc = timeLoop(() => encoder.encode(epoch, 1, [msg]), ms);
  const name = `entries=${entryCount}/bytes=${entryBytes}`;
  line(
    `BenchmarkCodecEncode/${name}`,
    enc.n,
    enc.nsPerOp,
    `${(enc.nsPerOp / entryCount).toFixed(1)} ns/entry\t${((bytes.length * 1e3) / enc.nsPerOp).toFixed(0)} MB/s`,
  );
  let sink = 0;
  const dec = timeLoop(() => {
    sink += decodeBatch(bytes).messages.length;
  }, ms);
  if (sink === 0) throw new Error("decode produced nothing");
  line(
    `BenchmarkCodecDecode/${name}`,
    dec.n,
    dec.nsPerOp,
    `${(dec.nsPerOp / entryCount).toFixed(1)} ns/entry\t${((bytes.length * 1e3) / dec.nsPerOp).toFixed(0)} MB/s`,
  );
}

// ---------------------------------------------------------------------------------------
// A transport between two processes

interface ReceiverReport {
  batches: number;
  entries: number;
  firstMs: number;
  lastMs: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address !== "object") throw new Error("no port");
  return address.port;
}

function parsePeers(text: string): Map<number, string> {
  return new Map(text.split(",").map((address, i) => [i + 1, address]));
}

const quiet = { info: () => {}, warn: (m: string) => console.error(m) };

type Kind = "grpc" | "tcp";

/** Pings off: the figure is the data path alone. */
function makeTransport(kind: Kind, id: number, peers: Map<number, string>) {
  return kind === "grpc"
    ? new GrpcTransport({ id, peers, flowControlWindow, logger: quiet, pingIntervalMs: 0 })
    : new TcpTransport({ id, peers, logger: quiet, pingIntervalMs: 0 });
}

/** Child: receives batches and reports counts when the sender's closing heartbeat comes. */
async function runReceiver(kind: Kind, peers: Map<number, string>): Promise<void> {
  const t = makeTransport(kind, 2, peers);
  const report: ReceiverReport = { batches: 0, entries: 0, firstMs: 0, lastMs: 0 };
  await t.start((batch) => {
    for (const m of batch.messages) {
      if (m.type === MessageType.MsgHeartbeat) {
        process.send?.(report);
        continue;
      }
      const now = performance.now();
      if (report.batches === 0) report.firstMs = now;
      report.lastMs = now;
      report.batches++;
      report.entries += m.entries.length;
    }
  });
  process.send?.("ready");
  process.on("disconnect", () => {
    void t.stop().then(() => process.exit(0));
  });
}

function nextMessage<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once("message", (m) => resolve(m as T));
    child.once("exit", (code) => reject(new Error(`receiver exited with code ${code}`)));
  });
}

async function benchTransport(kind: Kind): Promise<void> {
  const peers = new Map([
    [1, `127.0.0.1:${await freePort()}`],
    [2, `127.0.0.1:${await freePort()}`],
  ]);
  const peerList = [...peers.values()].join(",");
  const child = fork(
    process.argv[1]!,
    [
      "--receiver",
      "1",
      "--kind",
      kind,
      "--peers",
      peerList,
      "--window",
      String(flowControlWindow),
      "--entries",
      String(entryCount),
      "--bytes",
      String(entryBytes),
    ],
    { execArgv: process.execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] },
  );
  await nextMessage<string>(child);
  const t = makeTransport(kind, 1, peers);
  await t.start(() => {});
  const epoch = { start: Date.now(), iteration: 0 };
  // One batch object, sent over and over: the cost measured is encode + gRPC + decode.
  const msg = batchMessage(2, 1);
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    // Keep a few batches queued behind the stream, never enough to drop.
    while ((t.linkStats(2)?.queuedBatches ?? 0) < 4) t.send(epoch, [msg]);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const reportPromise = nextMessage<ReceiverReport>(child);
  t.send(epoch, [makeMessage({ type: MessageType.MsgHeartbeat, from: 1, to: 2, index: 0 })]);
  const report = await reportPromise;
  const stats = t.stats();
  child.disconnect();
  await t.stop();
  if (stats.dropped > 0) console.error(`warning: ${stats.dropped} messages dropped`);
  const spanS = (report.lastMs - report.firstMs) / 1000;
  const batchesPerS = (report.batches - 1) / spanS;
  const wireBytes = new BatchEncoder().encode(epoch, 1, [msg]).length;
  const name =
    kind === "grpc"
      ? `BenchmarkTransportGrpc/entries=${entryCount}/bytes=${entryBytes}/window=${flowControlWindow}`
      : `BenchmarkTransportTcp/entries=${entryCount}/bytes=${entryBytes}`;
  line(
    name,
    report.batches,
    1e9 / batchesPerS,
    `${batchesPerS.toFixed(0)} batches/s\t${((batchesPerS * entryCount) / 1e6).toFixed(2)} M entries/s\t${((batchesPerS * wireBytes) / 1e6).toFixed(0)} MB/s\t${stats.sentBatches} sent`,
  );
}

if (values.receiver !== undefined) {
  await runReceiver(values.receiver.kind, parsePeers(values.receiver.peers));
} else {
  if (values.mode === "all" || values.mode === "codec") benchCodec();
  if (values.mode === "all" || values.mode === "grpc") await benchTransport("grpc");
  if (values.mode === "all" || values.mode === "tcp") await benchTransport("tcp");
}
