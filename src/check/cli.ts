// rafttoy-check's command line: a history file in, a verdict out.
import { readFile } from "node:fs/promises";
import { type CommandSpec, flag, intFlag, runCommand } from "../command/command.js";
import { checkHistory, DEFAULT_MAX_STEPS } from "./check.js";
import { formatResult } from "./format.js";
import { HistoryError, parseHistory } from "./history.js";

export interface CheckIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Standard input's whole text, for the file name "-". */
  stdin: () => Promise<string>;
}

const CHECK: CommandSpec<{ path: string; json: boolean; window: boolean; maxSteps: number }> = {
  name: "rafttoy-check",
  usage: `$0 HISTORY.jsonl [--json] [--no-window] [--max-steps N]

Checks a client history of the rafttoy key-value service for linearizability, key by key,
against the model of GET, SET, DEL, INCRBY, and the queue's RPUSH/LPUSH and LPOP/RPOP.
Exit status: 0 linearizable, 1 not linearizable (each failing key's smallest failing
window is printed), 2 unreadable input, 3 unknown (a search gave up at --max-steps).`,
  epilog: `A history is JSON lines (# comments and blank lines skipped), either one line per operation
  {"process":1,"key":"k","f":"set","value":"v","invoke":10,"complete":25,"status":"ok","output":"OK"}
or one line per event, as a recorder appends them (an invocation never completed is indeterminate)
  {"id":7,"event":"invoke","process":1,"key":"k","f":"get","time":10}
  {"id":7,"event":"ok","time":25,"output":"v"}
f: get | set (value) | del | incr (by, default 1) | push (value, end: right) | pop (end: left)
status / event: ok (output = the reply: string, null for nil, integer, {"error":"wrong-type"})
  | fail (definitely not applied) | info (indeterminate: may take effect any time after
  invoke, or never; no complete time needed). Times are microseconds on one shared clock.`,
  flags: (y) =>
    y
      .option("json", {
        type: "boolean",
        describe: "the verdict as JSON (counts, per-key results, violation windows)",
      })
      .option("window", {
        type: "boolean",
        default: true,
        describe: "search for the smallest failing window (--no-window skips it)",
      })
      .option("max-steps", {
        type: "string",
        describe: `configurations a confirming search may explore per key (default ${DEFAULT_MAX_STEPS})`,
      }),
  words: { min: 1, max: 1, what: "history file (or - for stdin)" },
  read: (raw, words) => ({
    path: words[0]!,
    json: flag(raw, "json"),
    window: raw.window !== false,
    maxSteps: intFlag(raw, "max-steps", 1, Number.MAX_SAFE_INTEGER, DEFAULT_MAX_STEPS),
  }),
};

export function checkMain(argv: readonly string[], io: CheckIo): Promise<number> {
  return runCommand(CHECK, argv, (opts) => check(opts, io), {
    stdout: (text) => io.out(text.trimEnd()),
    stderr: (text) => io.err(text.trimEnd()),
  });
}

async function check(
  opts: { path: string; json: boolean; window: boolean; maxSteps: number },
  io: CheckIo,
): Promise<number> {
  const { path, maxSteps } = opts;
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
  const result = checkHistory(history, { noWindow: !opts.window, maxSteps });
  const seconds = (performance.now() - started) / 1000;
  if (opts.json) {
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
