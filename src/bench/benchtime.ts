import { UsageError } from "../errors/errors.js";
import { formatDuration, parseDuration } from "../units/duration.js";

/** How long one benchmark run lasts: for a time, or for a number of proposals (Go's "100x"). */
export type Benchtime = { kind: "duration"; ms: number } | { kind: "count"; proposals: number };

/** Parses `--benchtime`: a duration ("2s", "500ms") or a proposal count ("100000x"). */
export function parseBenchtime(text: string): Benchtime {
  const count = /^(\d+)x$/.exec(text.trim());
  if (count !== null) {
    const proposals = Number(count[1]);
    if (proposals < 1 || !Number.isSafeInteger(proposals)) {
      throw new UsageError(
        `"${text}" is not a proposal count: write a positive whole number, e.g. 100000x`,
      );
    }
    return { kind: "count", proposals };
  }
  let ms: number;
  try {
    ms = parseDuration(text);
  } catch {
    if (/^\s*-/.test(text)) {
      throw new UsageError(
        `"${text}" is negative: give a duration above 0 (e.g. 2s) or a count (e.g. 100000x)`,
      );
    }
    throw new UsageError(
      `"${text}" is neither a duration (e.g. 2s, 500ms) nor a count (e.g. 100000x)`,
    );
  }
  if (ms <= 0) throw new UsageError(`"${text}" is too short: give a duration above 0, e.g. 2s`);
  return { kind: "duration", ms };
}

export function formatBenchtime(b: Benchtime): string {
  return b.kind === "count" ? `${b.proposals}x` : formatDuration(b.ms);
}
