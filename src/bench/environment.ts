import { execFileSync } from "node:child_process";
import os from "node:os";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** Where a result was measured: enough to tell two result files apart. */
export interface BenchEnvironment {
  gitCommit: string;
  node: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cpuCores: number;
  availableParallelism: number;
  hostname: string;
}

/**
 * The commit of the checkout this code runs from (not of the current directory, which may be
 * anywhere), or "unknown" outside a git checkout or without git.
 */
export function gitCommit(): string {
  try {
    return execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: dirname(fileURLToPath(import.meta.url)),
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5_000,
      encoding: "utf8",
    }).trim();
  } catch {
    return "unknown";
  }
}

export function benchEnvironment(): BenchEnvironment {
  const cpus = os.cpus();
  return {
    gitCommit: gitCommit(),
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cpuCores: cpus.length,
    availableParallelism: os.availableParallelism(),
    hostname: os.hostname(),
  };
}
