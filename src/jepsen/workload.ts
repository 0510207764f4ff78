// The clients: each a loop of one command at a time over RESP against one node, on a small
// key set (registers read and written with unique values, one INCR counter, one queue),
// every command recorded with its invocation and completion and classified:
// - ok: the reply (a refusal such as WRONGTYPE is a reply too);
// - fail: refused before anything was proposed (CLUSTERDOWN, MOVED, a limit), or any
//   refused or lost read (a read changes nothing);
// - info: no reply (deadline, connection lost) or an unexpected error: it may still apply.

import { rng } from "../check/generate.js";
import type { KvInput, KvOutput, Status } from "../check/history.js";
import type { HistoryRecorder } from "./recorder.js";
import { RespConnection, RespError, type RespReply, RespUnknown } from "./resp-client.js";

export interface WorkloadOptions {
  clients: number;
  /** Register keys; one counter and one queue are added. */
  registers: number;
  /** Per-command deadline. */
  timeoutMs: number;
  seed: number;
}

/** Errors the service gives only for commands it did not propose. */
const DEFINITE_REFUSALS = new Set(["CLUSTERDOWN", "MOVED", "ASK", "TRYAGAIN"]);
/** State-machine refusals: a reply like any other. */
const MODEL_ERRORS: Record<string, string> = { WRONGTYPE: "wrong-type" };

export function commandFor(key: string, input: KvInput): string[] {
  switch (input.f) {
    case "get":
      return ["GET", key];
    case "set":
      return ["SET", key, input.value];
    case "del":
      return ["DEL", key];
    case "incr":
      return input.by === 1 ? ["INCR", key] : ["INCRBY", key, String(input.by)];
    case "push":
      return [input.end === "right" ? "RPUSH" : "LPUSH", key, input.value];
    case "pop":
      return [input.end === "left" ? "LPOP" : "RPOP", key];
  }
}

/** How a reply (or its absence) enters the history. */
export function classify(
  input: KvInput,
  reply: RespReply | RespUnknown,
): { status: Status; output?: KvOutput } {
  if (reply instanceof RespUnknown) return { status: input.f === "get" ? "fail" : "info" };
  if (reply instanceof RespError) {
    const model = MODEL_ERRORS[reply.code];
    if (model !== undefined) return { status: "ok", output: { error: model } };
    if (/not an integer|out of range/i.test(reply.message))
      return { status: "ok", output: { error: "not-integer" } };
    if (input.f === "get" || DEFINITE_REFUSALS.has(reply.code)) return { status: "fail" };
    return { status: "info" };
  }
  if (Array.isArray(reply)) return { status: "info" };
  // Push lengths are not recorded: they tie every push to every earlier one and make the
  // queue expensive to check (docs/decisions.md, linearizability checker).
  if (input.f === "push") return { status: "ok" };
  return { status: "ok", output: reply };
}

export interface Target {
  host: string;
  port: number;
}

export interface ClientStats {
  ok: number;
  fail: number;
  info: number;
}

/**
 * Runs the clients until `stop` resolves; client i talks to `targets()[i % n]` and, after a
 * command without a reply, reconnects (possibly to another node: targets() is read again).
 */
export async function runClients(
  recorder: HistoryRecorder,
  options: WorkloadOptions,
  targets: () => Target[],
  stop: Promise<void>,
): Promise<ClientStats> {
  let stopping = false;
  void stop.then(() => {
    stopping = true;
  });
  const stats: ClientStats = { ok: 0, fail: 0, info: 0 };
  const registers = Array.from({ length: options.registers }, (_, i) => `r${i}`);
  let unique = 0;
  const client = async (process: number) => {
    const random = rng(options.seed * 1000 + process);
    let connection: RespConnection | undefined;
    let targetIndex = process;
    while (!stopping) {
      if (connection === undefined) {
        const all = targets();
        const target = all[targetIndex % all.length] as Target;
        connection = new RespConnection(target.host, target.port);
      }
      const r = random();
      let key: string;
      let input: KvInput;
      if (r < 0.6) {
        key = registers[Math.floor(random() * registers.length)] as string;
        const s = random();
        input =
          s < 0.5
            ? { f: "get" }
            : s < 0.95
              ? { f: "set", value: `${process}-${unique++}` }
              : { f: "del" };
      } else if (r < 0.8) {
        key = "counter";
        input = random() < 0.7 ? { f: "incr", by: 1 } : { f: "get" };
      } else {
        key = "queue";
        input =
          random() < 0.4
            ? { f: "push", value: `${process}-${unique++}`, end: "right" }
            : { f: "pop", end: "left" };
      }
      const id = recorder.invoke(process, key, input);
      let reply: RespReply | RespUnknown;
      try {
        reply = await connection.command(commandFor(key, input), options.timeoutMs);
      } catch (err) {
        reply = err instanceof RespUnknown ? err : new RespUnknown(String(err));
      }
      // The DEL reply counts keys removed; a counter read through GET is a bulk string.
      const { status, output } = classify(input, reply);
      recorder.complete(id, status, output);
      stats[status]++;
      if (reply instanceof RespUnknown || status === "fail") {
        connection.close();
        connection = undefined;
        // Try the next node, after a pause that keeps a down cluster from being hammered.
        targetIndex++;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    connection?.close();
  };
  await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i)));
  return stats;
}
