import { execFileSync } from "node:child_process";
import { readFileSync, realpathSync } from "node:fs";
import os from "node:os";
import { dirname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Where a result was measured: enough to tell two result files apart. */
export interface BenchEnvironment {
  gitCommit: string;
  /** Uncommitted changes to tracked or untracked (not ignored) files; null without git. */
  gitDirty: boolean | null;
  node: string;
  platform: string;
  arch: string;
  /** os.release() and os.version(): "6.1.0-18-amd64", "#1 SMP Debian 6.1.76-1 ...". */
  kernel: string;
  kernelVersion: string;
  cpuModel: string;
  cpuCores: number;
  availableParallelism: number;
  totalMemoryBytes: number;
  hostname: string;
  /** The data directory and the filesystem it lives on ("ext4", "tmpfs", ...), if given. */
  dataDir?: string;
  dataDirFilesystem?: string;
  /** Node/V8 flags before the script (process.execArgv, e.g. from RAFTTOY_NODE_FLAGS): they
   * change GC and so the figures. Absent when there were none. */
  nodeFlags?: string[];
}

/** Runs git in the checkout this code runs from; null outside one or without git. */
function git(args: readonly string[]): string | null {
  try {
    return execFileSync("git", args, {
      cwd: dirname(fileURLToPath(import.meta.url)),
      stdio: ["ignore", "pipe", "ignore"],
      timeout: 5_000,
      encoding: "utf8",
    });
  } catch {
    return null;
  }
}

/**
 * The commit of the checkout this code runs from (not of the current directory, which may be
 * anywhere), or "unknown" outside a git checkout or without git.
 */
export function gitCommit(): string {
  return git(["rev-parse", "HEAD"])?.trim() ?? "unknown";
}

/** Whether that checkout has changes not committed (results and data dirs are ignored). */
export function gitDirty(): boolean | null {
  const status = git(["status", "--porcelain"]);
  return status === null ? null : status.trim().length > 0;
}

/** "a\040b" in /proc/mounts is "a b": spaces, tabs and backslashes come octal-escaped. */
function unescapeMount(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/**
 * The filesystem type of the mount holding `path` (the longest mount point that is a prefix
 * of its real path), from a /proc/mounts-style table; "unknown" when nothing matches.
 */
export function filesystemOf(path: string, mounts: string): string {
  let best = "";
  let type = "unknown";
  for (const line of mounts.split("\n")) {
    const [, escapedMountPoint, fsType] = line.split(" ");
    if (escapedMountPoint === undefined || fsType === undefined) continue;
    const mountPoint = unescapeMount(escapedMountPoint);
    const inside =
      path === mountPoint ||
      mountPoint === "/" ||
      path.startsWith(mountPoint.endsWith(sep) ? mountPoint : mountPoint + sep);
    if (inside && mountPoint.length >= best.length) {
      best = mountPoint;
      type = fsType;
    }
  }
  return type;
}

/** The filesystem `dir` is on (its nearest existing ancestor's, if it does not exist yet). */
function dataDirFilesystem(dir: string): string {
  let path = resolve(dir);
  for (;;) {
    try {
      path = realpathSync(path);
      break;
    } catch {
      const parent = dirname(path);
      if (parent === path) break;
      path = parent;
    }
  }
  try {
    return filesystemOf(path, readFileSync("/proc/self/mounts", "utf8"));
  } catch {
    return "unknown";
  }
}

export function benchEnvironment(dataDir?: string): BenchEnvironment {
  const cpus = os.cpus();
  return {
    gitCommit: gitCommit(),
    gitDirty: gitDirty(),
    node: process.version,
    platform: os.platform(),
    arch: os.arch(),
    kernel: os.release(),
    kernelVersion: os.version(),
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cpuCores: cpus.length,
    availableParallelism: os.availableParallelism(),
    totalMemoryBytes: os.totalmem(),
    hostname: os.hostname(),
    ...(dataDir === undefined ? {} : { dataDir, dataDirFilesystem: dataDirFilesystem(dataDir) }),
    ...(process.execArgv.length === 0 ? {} : { nodeFlags: [...process.execArgv] }),
  };
}
