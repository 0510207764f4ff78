// The simulator commands' CliIo for tests: lines kept per stream, a clock that moves one
// second per read (progress and steps/s lines stay deterministic).
import type { CliIo } from "../cmd/sim-cli.js";

export interface CapturedIo extends CliIo {
  stdout: string[];
  stderr: string[];
}

export function captureIo(): CapturedIo {
  const stdout: string[] = [];
  const stderr: string[] = [];
  let now = 0;
  return {
    stdout,
    stderr,
    out: (line) => stdout.push(...line.split("\n")),
    err: (line) => stderr.push(line),
    clock: () => (now += 1000),
  };
}
