// The checker's verdict as text: a line per key, and for each violation its window as a
// table of operations with times relative to the window's first invocation.
import type { CheckedOp, CheckResult } from "./check.js";
import type { KvInput, KvOutput } from "./history.js";
import type { FailingWindow } from "./window.js";

const VERDICT_TEXT = {
  linearizable: "linearizable",
  violation: "NOT linearizable",
  unknown: "UNKNOWN (gave up)",
};

export function formatResult(result: CheckResult): string[] {
  const { ok, fail, info } = result.counts;
  const lines = [
    `${ok + fail + info} operations: ${ok} ok, ${fail} failed, ${info} indeterminate; ${result.keys.length} keys`,
  ];
  for (const k of result.keys)
    lines.push(
      `  ${JSON.stringify(k.key)}: ${k.searched} operations searched, ${k.steps} configurations: ${VERDICT_TEXT[k.verdict]}`,
    );
  for (const v of result.violations) lines.push("", ...formatWindow(v.key, v.window));
  const unknown = result.keys.filter((k) => k.verdict === "unknown").length;
  if (result.violations.length > 0)
    lines.push(`NOT linearizable: ${result.violations.length} key(s) with anomalies`);
  else if (unknown > 0)
    lines.push(`UNKNOWN: the search gave up on ${unknown} key(s) (raise --max-steps)`);
  else lines.push("linearizable");
  return lines;
}

export function formatWindow(key: string, window: FailingWindow): string[] {
  const ops = window.ops;
  const origin = Math.min(...ops.map((o) => o.source.invoke));
  const from = window.fromAnyState
    ? "from any state of the key"
    : "from the key's initial state (absent)";
  const lines = [
    `key ${JSON.stringify(key)}: no order of these ${ops.length} operations is consistent with the model ${from};`,
    `times in ms after ${formatMicros(origin)} (the history's clock)`,
  ];
  const rows = ops.map((o) => [
    `${ms(o.source.invoke - origin)} → ${o.source.status === "info" ? "?" : ms(o.source.complete - origin)}`,
    `p${o.source.process}`,
    describeInput(o.input),
    o.source.status,
    o.source.status === "ok" ? describeOutput(o.source.output) : "",
    markers(o, window),
  ]);
  const header = ["invoke → complete", "client", "operation", "status", "reply", ""];
  const widths = header.map((h, i) =>
    Math.max(h.length, ...rows.map((r) => (r[i] as string).length)),
  );
  for (const row of [header, ...rows])
    lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i] as number)).join("  ")}`.trimEnd());
  return lines;
}

function markers(o: CheckedOp, window: FailingWindow): string {
  if (o.source === window.culprit?.source) return "← cannot be linearized";
  if (o.source.status !== "ok") return "";
  if (o.source.invoke < window.start) return "(began before the window: taken as indeterminate)";
  if (o.source.complete > window.end) return "(completed after the window: taken as indeterminate)";
  return "";
}

export function describeInput(input: KvInput): string {
  switch (input.f) {
    case "get":
      return "get";
    case "set":
      return `set ${JSON.stringify(input.value)}`;
    case "del":
      return "del";
    case "incr":
      return `incr ${input.by}`;
    case "push":
      return `push ${input.end} ${JSON.stringify(input.value)}`;
    case "pop":
      return `pop ${input.end}`;
  }
}

export function describeOutput(output: KvOutput): string {
  if (output === undefined) return "(not recorded)";
  if (output === null) return "nil";
  if (typeof output === "object") return `error ${output.error}`;
  return JSON.stringify(output);
}

function ms(micros: number): string {
  return (micros / 1000).toFixed(3);
}

function formatMicros(micros: number): string {
  return `${micros} µs`;
}
