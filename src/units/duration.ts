// Durations on the command line are written like Go's: a number with a unit, or several run
// together ("1m30s"). A bare number is refused (is "5" seconds or milliseconds?), except 0.
import { UsageError } from "../errors/errors.js";

const MS_PER_UNIT: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/**
 * Milliseconds in a duration such as "5ms", "2s", "1.5s", "250us", "1m30s" or "0".
 * Throws an Error whose message says what a valid duration looks like.
 */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === "0") return 0;
  if (/^-\d|^-\.\d/.test(trimmed)) {
    throw new UsageError(`"${text}" is negative: a duration is 0 or more, e.g. 5ms or 2s`);
  }
  let ms = 0;
  let at = 0;
  PART.lastIndex = 0;
  while (at < trimmed.length) {
    PART.lastIndex = at;
    const match = PART.exec(trimmed);
    const perUnit = match === null ? undefined : MS_PER_UNIT[match[2] ?? ""];
    // No unit matched: stop here, and the check below names the text.
    if (match === null || perUnit === undefined) break;
    ms += Number(match[1]) * perUnit;
    at = PART.lastIndex;
  }
  if (trimmed === "" || at !== trimmed.length) {
    throw new UsageError(
      `"${text}" is not a duration: write a number with a unit (ns, us, ms, s, m, h), e.g. 5ms or 2s`,
    );
  }
  return ms;
}

/** A duration for messages and names: "5ms", "2s", "1.5s" (the inverse of parseDuration). */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0";
  if (ms >= 1_000 && Number.isInteger(ms / 1_000)) return `${ms / 1_000}s`;
  if (ms >= 1_000) return `${Number((ms / 1_000).toPrecision(6))}s`;
  if (ms >= 1) return `${Number(ms.toPrecision(6))}ms`;
  return `${Number((ms * 1_000).toPrecision(6))}us`;
}
