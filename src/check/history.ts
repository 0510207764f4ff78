// A client history of the key-value service: what each client asked, when, and what it was
// told. The checker reads it from JSON lines (see parseHistory for the two accepted shapes)
// and the Jepsen-style runner writes it.

/** One single-key command of the service, as the checker models it. */
export type KvInput =
  | { f: "get" }
  | { f: "set"; value: string }
  | { f: "del" }
  | { f: "incr"; by: number }
  | { f: "push"; value: string; end: ListEnd }
  | {
      f: "pop";
      end: ListEnd;
      /**
       * Set by the checker on an indeterminate pop (never read from a history): items an
       * acknowledged pop returned and nothing pushed twice, which this pop therefore cannot
       * have taken.
       */
      taken?: ReadonlySet<string>;
    };

export type ListEnd = "left" | "right";

/**
 * A reply the service gave: a bulk string or nil (get, pop), an integer (del, incr, push),
 * "OK" (set) or a refusal of the state machine (incr of a non-integer, a list command on a
 * string). `undefined` stands for "not recorded", which the model accepts as anything.
 */
export type KvOutput = string | number | null | { error: string } | undefined;

/**
 * - ok: completed, the reply is `output`;
 * - fail: definitely not applied (refused before it was proposed);
 * - info: indeterminate (timed out, connection lost): it may take effect at any time after
 *   its invocation, or never, and its reply is unknown.
 */
export type Status = "ok" | "fail" | "info";

export interface Operation {
  /** Position in the file's order of invocations, from 0; stable across partitions. */
  id: number;
  /** The client (process) that issued it; one operation at a time per client. */
  process: number;
  key: string;
  input: KvInput;
  output: KvOutput;
  status: Status;
  /** Invocation time, in microseconds on any monotonic clock shared by all clients. */
  invoke: number;
  /** Completion time; Infinity for an indeterminate operation. */
  complete: number;
}

export class HistoryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HistoryError";
  }
}

type Json = Record<string, unknown>;

/**
 * Parses JSON lines in either of two shapes, which may be mixed:
 * - one line per operation: {"process":1,"key":"k","f":"set","value":"v","invoke":10,
 *   "complete":25,"status":"ok","output":"OK"} (complete null or absent for "info");
 * - one line per event, as a recorder writes them so that a crash loses nothing:
 *   {"id":7,"event":"invoke","process":1,"key":"k","f":"get","time":10} followed by
 *   {"id":7,"event":"ok","time":25,"output":"v"} (or "fail" / "info"). An invocation
 *   without a completion is indeterminate.
 * Blank lines and lines starting with # are skipped. Errors name the line.
 */
export function parseHistory(text: string): Operation[] {
  const whole: Omit<Operation, "id">[] = [];
  const pending = new Map<string, { line: number; op: Omit<Operation, "id"> }>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? "").trim();
    if (raw === "" || raw.startsWith("#")) continue;
    const lineNo = i + 1;
    const fail = (why: string): never => {
      throw new HistoryError(`line ${lineNo}: ${why}`);
    };
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch {
      fail("not JSON");
    }
    if (typeof obj !== "object" || obj === null || Array.isArray(obj)) fail("not a JSON object");
    const o = obj as Json;
    if (o.event === undefined) {
      const status = readStatus(o.status, fail);
      const invoke = readTime(o.invoke, "invoke", fail);
      let complete = Number.POSITIVE_INFINITY;
      if (status !== "info") {
        complete = readTime(o.complete, "complete", fail);
        if (complete < invoke) fail(`complete ${complete} is before invoke ${invoke}`);
      }
      whole.push({
        process: readProcess(o.process, fail),
        key: readKey(o.key, fail),
        input: readInput(o, fail),
        output: status === "ok" ? readOutput(o.output, fail) : undefined,
        status,
        invoke,
        complete,
      });
      continue;
    }
    const id = o.id;
    if (typeof id !== "number" && typeof id !== "string") fail('an event needs an "id"');
    const eventId = String(id);
    if (o.event === "invoke") {
      if (pending.has(eventId)) fail(`id ${eventId} invoked twice`);
      pending.set(eventId, {
        line: lineNo,
        op: {
          process: readProcess(o.process, fail),
          key: readKey(o.key, fail),
          input: readInput(o, fail),
          output: undefined,
          status: "info",
          invoke: readTime(o.time, "time", fail),
          complete: Number.POSITIVE_INFINITY,
        },
      });
      continue;
    }
    const status = readStatus(o.event, fail);
    const started = pending.get(eventId);
    if (started === undefined)
      return fail(`id ${eventId} completes without an invocation before it`);
    pending.delete(eventId);
    const op = started.op;
    op.status = status;
    if (status !== "info") {
      op.complete = readTime(o.time, "time", fail);
      if (op.complete < op.invoke) fail(`completion time is before the invocation's`);
    }
    if (status === "ok") op.output = readOutput(o.output, fail);
    whole.push(op);
  }
  for (const { op } of pending.values()) whole.push(op);
  return numberByInvocation(whole);
}

/** Sorts by invocation time (stable) and numbers the operations in that order. */
export function numberByInvocation(ops: readonly Omit<Operation, "id">[]): Operation[] {
  const sorted = ops
    .map((op, i) => ({ op, i }))
    .sort((a, b) => a.op.invoke - b.op.invoke || a.i - b.i);
  return sorted.map(({ op }, id) => ({ ...op, id }));
}

function readStatus(v: unknown, fail: (why: string) => never): Status {
  if (v === "ok" || v === "fail" || v === "info") return v;
  return fail(`status must be "ok", "fail" or "info", got ${JSON.stringify(v)}`);
}

function readTime(v: unknown, name: string, fail: (why: string) => never): number {
  if (typeof v === "number" && Number.isFinite(v)) return v;
  return fail(`"${name}" must be a finite number (microseconds), got ${JSON.stringify(v)}`);
}

function readProcess(v: unknown, fail: (why: string) => never): number {
  if (typeof v === "number" && Number.isInteger(v)) return v;
  return fail(`"process" must be an integer, got ${JSON.stringify(v)}`);
}

function readKey(v: unknown, fail: (why: string) => never): string {
  if (typeof v === "string") return v;
  return fail(`"key" must be a string, got ${JSON.stringify(v)}`);
}

function readEnd(v: unknown, fallback: ListEnd, fail: (why: string) => never): ListEnd {
  if (v === undefined) return fallback;
  if (v === "left" || v === "right") return v;
  return fail(`"end" must be "left" or "right", got ${JSON.stringify(v)}`);
}

function readInput(o: Json, fail: (why: string) => never): KvInput {
  const value = (): string =>
    typeof o.value === "string"
      ? o.value
      : fail(`"${String(o.f)}" needs a string "value", got ${JSON.stringify(o.value)}`);
  switch (o.f) {
    case "get":
      return { f: "get" };
    case "set":
      return { f: "set", value: value() };
    case "del":
      return { f: "del" };
    case "incr": {
      const by = o.by ?? 1;
      if (typeof by !== "number" || !Number.isSafeInteger(by))
        fail(`"incr" needs an integer "by", got ${JSON.stringify(o.by)}`);
      return { f: "incr", by: by as number };
    }
    // A queue pushes on the right and pops on the left (RPUSH / LPOP) unless told otherwise.
    case "push":
      return { f: "push", value: value(), end: readEnd(o.end, "right", fail) };
    case "pop":
      return { f: "pop", end: readEnd(o.end, "left", fail) };
    default:
      return fail(`"f" must be one of get, set, del, incr, push, pop; got ${JSON.stringify(o.f)}`);
  }
}

function readOutput(v: unknown, fail: (why: string) => never): KvOutput {
  if (v === undefined || v === null || typeof v === "string") return v;
  if (typeof v === "number" && Number.isSafeInteger(v)) return v;
  if (typeof v === "object" && typeof (v as Json).error === "string")
    return { error: (v as Json).error as string };
  return fail(`"output" must be a string, null, an integer or {"error": code}`);
}

/** The one-line-per-operation shape of parseHistory, for writing fixtures and reports. */
export function operationToJson(op: Operation): Json {
  const line: Json = { process: op.process, key: op.key, ...op.input, invoke: op.invoke };
  if (op.status !== "info") line.complete = op.complete;
  line.status = op.status;
  if (op.status === "ok" && op.output !== undefined) line.output = op.output;
  return line;
}
