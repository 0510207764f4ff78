// One run: clients and the nemesis against a cluster for a while, then the history checked
// and the report built.
import { checkHistory } from "../check/check.js";
import { formatResult } from "../check/format.js";
import { type ClusterControl, type Fault, type NemesisOptions, runNemesis } from "./nemesis.js";
import { HistoryRecorder } from "./recorder.js";
import { buildReport, type RunReport } from "./report.js";
import { runClients, type Target, type WorkloadOptions } from "./workload.js";

export interface RunOptions {
  durationMs: number;
  workload: WorkloadOptions;
  nemesis: NemesisOptions;
  /** Where the history's events are appended (none: memory only). */
  historyPath?: string;
  log: (line: string) => void;
}

export interface RunOutcome {
  report: RunReport;
  faults: Fault[];
  /** The checker's text (per key, and each violation's window). */
  checkText: string[];
}

export async function runJepsen(
  cluster: ClusterControl,
  targets: () => Target[],
  options: RunOptions,
): Promise<RunOutcome> {
  const recorder = new HistoryRecorder(options.historyPath);
  let finish: () => void = () => {};
  const stop = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const timer = setTimeout(finish, options.durationMs);
  const progress = setInterval(() => {
    options.log(
      `progress: ${recorder.records().length} operations after ${(recorder.now() / 1e6).toFixed(0)} s`,
    );
  }, 10_000);
  try {
    const [, faults] = await Promise.all([
      runClients(recorder, options.workload, targets, stop),
      runNemesis(cluster, options.nemesis, () => recorder.now(), stop, options.log),
    ]);
    const check = checkHistory(recorder.history());
    return {
      report: buildReport(recorder.records(), faults, check),
      faults,
      checkText: formatResult(check),
    };
  } finally {
    clearTimeout(timer);
    clearInterval(progress);
    recorder.close();
  }
}
