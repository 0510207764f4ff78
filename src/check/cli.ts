// rafttoy-check's command line: a history file in, a verdict out.
import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { checkHistory, DEFAULT_MAX_STEPS } from "./check.js";
import { formatResult } from "./format.js";
import { HistoryError, parseHistory } from "./history.js";

export interface CheckIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Standard input's whole text, for the file name "-". */
  stdin: () => Promise<string>;
}

export const CHECK_HELP = `Usage: rafttoy-check HISTORY.jsonl [--json] [--no-window] [--max-steps N]

Checks a client history of the rafttoy key-value service for linearizability, key by key,
against the model of GET, SET, DEL, INCRBY, and the queue's RPUSH/LPUSH and LPOP/RPOP.
Exit status: 0 linearizable, 1 not linearizable (each failing key's smallest failing
window is printed), 2 unreadable input, 3 unknown (a search gave up at --max-steps).

A history is JSON lines (# comments and blank lines skipped), either one line per operation
  {"process":1,"key":"k","f":"set","value":"v","invoke":10,"complete":25,"status":"ok","output":"OK"}
or one line per event, as a recorder appends them (an invocation never completed is indeterminate)
  {"id":7,"event":"invoke","process":1,"key":"k","f":"get","time":10}
  {"id":7,"event":"ok","time":25,"output":"v"}
f: get | set (value) | del | incr (by, default 1) | push (value, end: right) | pop (end: left)
status / event: ok (output = the reply: string, null for nil, integer, {"error":"wrong-type"})
  | fail (definitely not applied) | info (indeterminate: may take effect any time after
  invoke, or never; no complete time needed). Times are microseconds on one shared clock.

  --json       the verdict as JSON (counts, per-key results, violation windows)
  --no-window  skip the search for the smallest failing window
  --max-steps  configurations a confirming search may explore per key (default 5000000)
  -h, --help   this text
`;

export async function checkMain(argv: readonly string[], io: CheckIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    io.err(`rafttoy-check: ${err instanceof Error ? err.message : String(err)}`);
    return 2;
  }
  if (parsed.values.help) {
    io.out(CHECK_HELP.trimEnd());
    return 0;
  }
  if (parsed.positionals.length !== 1) {
    io.err(
      `rafttoy-check: need exactly one history file (or - for stdin), got ${parsed.positionals.length}`,
    );
    return 2;
  }
  const path = parsed.positionals[0] as string;
  const maxSteps =
    parsed.values["max-steps"] === undefined
      ? DEFAULT_MAX_STEPS
      : Number(parsed.values["max-steps"]);
  if (!Number.isSafeInteger(maxSteps) || maxSteps < 1) {
    io.err(
      `rafttoy-check: --max-steps must be a positive integer, got ${parsed.values["max-steps"]}`,
    );
    return 2;
  }
  let text: string;
  try {
    text = path === "-" ? await io.stdin() : await readFile(path, "utf8");
  } catch (err) {
    io.err(
      `rafttoy-check: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
    return 2;
  }
  let history: ReturnType<typeof parseHistory>;
  try {
    history = parseHistory(text);
  } catch (err) {
    if (err instanceof HistoryError) {
      io.err(`rafttoy-check: ${path}: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const started = performance.now();
  const result = checkHistory(history, { noWindow: parsed.values["no-window"] === true, maxSteps });
  const seconds = (performance.now() - started) / 1000;
  if (parsed.values.json) {
    io.out(
      JSON.stringify(
        {
          verdict: result.verdict,
          counts: result.counts,
          keys: result.keys,
          seconds,
          violations: result.violations.map((v) => ({
            key: v.key,
            fromAnyState: v.window.fromAnyState,
            culprit: v.window.culprit?.source.id,
            ops: v.window.ops.map((o) => o.source),
          })),
        },
        (_, value) => (value === Number.POSITIVE_INFINITY ? null : value),
        2,
      ),
    );
  } else {
    for (const line of formatResult(result)) io.out(line);
    io.out(`checked in ${seconds.toFixed(2)} s`);
  }
  return result.verdict === "linearizable" ? 0 : result.verdict === "violation" ? 1 : 3;
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: "boolean" },
      "no-window": { type: "boolean" },
      "max-steps": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}
