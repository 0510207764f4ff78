// Resident memory of a process as Linux reports it in /proc/<pid>/status: VmRSS (now) and
// VmHWM (the peak since the process started, kept by the kernel, so no sampling misses it).
// A leader reads its own; the local-cluster launcher, which knows every pid, reads all three.
import { readFileSync } from "node:fs";

export interface Rss {
  /** Resident set size now, in bytes. */
  rssBytes: number;
  /** Peak resident set size since the process started, in bytes. */
  maxRssBytes: number;
}

function kib(status: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return m === null ? undefined : Number(m[1]) * 1024;
}

/** The RSS of `pid` (this process by default), or undefined where /proc does not say. */
export function readRss(pid: number | "self" = "self"): Rss | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const rssBytes = kib(status, "VmRSS");
  const maxRssBytes = kib(status, "VmHWM");
  if (rssBytes === undefined || maxRssBytes === undefined) return undefined;
  return { rssBytes, maxRssBytes };
}

export function formatMiB(bytes: number): string {
  return `${Math.round(bytes / (1024 * 1024))} MiB`;
}

/** "rss 412 MiB (max 530 MiB)", or "rss unknown". */
export function describeRss(rss: Rss | undefined): string {
  return rss === undefined
    ? "rss unknown"
    : `rss ${formatMiB(rss.rssBytes)} (max ${formatMiB(rss.maxRssBytes)})`;
}
