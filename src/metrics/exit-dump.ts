import { formatMetrics } from "./format.js";
import type { Metrics } from "./metrics.js";

/** The exit codes a shell reports for a process ended by these signals (128 + number). */
const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
type DumpSignal = keyof typeof SIGNAL_EXIT_CODES;

/**
 * Writes `formatMetrics(metrics)` once when the process exits: normal end, `process.exit`, an
 * uncaught exception, SIGINT or SIGTERM. `write` must be synchronous (process.stderr.write is,
 * for files and pipes on Linux, and for terminals on POSIX), since nothing asynchronous runs
 * after 'exit'.
 *
 * On SIGINT/SIGTERM, when nothing else listens for the signal, the dump is written and the
 * process exits with 130/143. When the program has its own handler (a graceful stop that
 * drains and flushes), that handler decides when to exit and the dump follows on 'exit', so
 * installing the dump never cuts a shutdown short.
 *
 * Returns a function that removes the handlers again.
 */
export function installExitDump(metrics: Metrics, write: (text: string) => void): () => void {
  let dumped = false;
  const dump = (why: string): void => {
    if (dumped) return;
    dumped = true;
    write(`metrics at exit (${why}):\n${formatMetrics(metrics)}`);
  };

  const onExit = (code: number): void => dump(`exit code ${code}`);
  const signalHandlers = new Map<DumpSignal, () => void>();
  for (const signal of Object.keys(SIGNAL_EXIT_CODES) as DumpSignal[]) {
    const handler = (): void => {
      if (process.listenerCount(signal) > 1) return;
      dump(signal);
      process.exit(SIGNAL_EXIT_CODES[signal]);
    };
    signalHandlers.set(signal, handler);
    process.on(signal, handler);
  }
  process.on("exit", onExit);

  return () => {
    process.off("exit", onExit);
    for (const [signal, handler] of signalHandlers) process.off(signal, handler);
  };
}
