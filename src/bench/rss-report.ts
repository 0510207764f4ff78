// Adds processes' RSS to a results JSON file written by the runner: the leader adds its
// own after its last run, the local-cluster launcher the followers' (only it knows their
// pids). Keyed by process ("leader", "follower 2"), merged with what is already there.
import { readFile, rename, writeFile } from "node:fs/promises";
import type { Rss } from "../metrics/rss.js";

export type RssByProcess = Record<string, Partial<Rss> & { pid?: number; samples?: RssSample[] }>;

/** One reading taken during the run (the launcher samples every 10 s). */
export interface RssSample {
  /** Seconds since the launcher started the leader. */
  atS: number;
  rssBytes: number;
}

/** Merges `rss` into the file's and returns the result (undefined: no results file). */
export async function addRssToReport(
  jsonPath: string,
  rss: RssByProcess,
): Promise<RssByProcess | undefined> {
  let report: Record<string, unknown>;
  try {
    report = JSON.parse(await readFile(jsonPath, "utf8")) as Record<string, unknown>;
  } catch {
    return undefined; // No results were written (the run failed first): nothing to add to.
  }
  const before = (report.rss ?? {}) as RssByProcess;
  const merged: RssByProcess = { ...before };
  for (const [name, entry] of Object.entries(rss)) merged[name] = { ...before[name], ...entry };
  report.rss = merged;
  const temporary = `${jsonPath}.rss-tmp`;
  await writeFile(temporary, `${JSON.stringify(report, null, 2)}\n`);
  await rename(temporary, jsonPath);
  return merged;
}
