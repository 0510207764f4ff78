// An exclusive, per-process lock on a directory: a lock file holding the owner's pid, so that
// two processes never write the same log. The file is created complete and atomically (the pid
// is written to a private file first, then hard-linked to the lock name, which fails if the
// name exists). A lock whose pid no longer runs (the owner was killed) is stale and is taken
// over. Within one process the lock is shared and counted: the last release removes it.
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";
import { DataDirError } from "./errors.js";

export const LOCK_FILE = ".rafttoy.lock";

export interface DirLock {
  /** The lock file. */
  readonly file: string;
  /** Gives the lock up (once; later calls do nothing). */
  release(): Promise<void>;
}

/** Lock files this process holds, with how many holders each has. */
const held = new Map<string, number>();
let exitHookInstalled = false;

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

/** The pid in a lock file, or undefined if the file is gone; NaN if it holds anything else. */
async function readOwner(file: string): Promise<number | undefined> {
  try {
    const text = await fsp.readFile(file, "utf8");
    return /^\d+\n?$/.test(text) ? Number.parseInt(text, 10) : Number.NaN;
  } catch (err) {
    if (code(err) === "ENOENT") return undefined;
    throw err;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return code(err) === "EPERM";
  }
}

/** A process killed outright leaves its lock behind; remove the locks still held at exit. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const file of held.keys()) {
      try {
        if (fs.readFileSync(file, "utf8").trim() === String(process.pid)) fs.unlinkSync(file);
      } catch {
        // Already gone, or the directory was removed: nothing to release.
      }
    }
    held.clear();
  });
}

/** Creates the lock file with our pid; false if a lock file is already there. */
async function tryCreate(file: string): Promise<boolean> {
  const mine = `${file}.${process.pid}`;
  await fsp.writeFile(mine, `${process.pid}\n`);
  try {
    await fsp.link(mine, file);
    return true;
  } catch (err) {
    if (code(err) === "EEXIST") return false;
    throw err;
  } finally {
    await fsp.rm(mine, { force: true });
  }
}

/**
 * Moves a stale lock (owner `stalePid`, no longer running) out of the way. Renaming is atomic,
 * so of two processes taking over the same stale lock only one moves it; if what was moved
 * turns out to be a live lock (taken over by a third process in the meantime), it is put back.
 */
async function removeStale(file: string, stalePid: number): Promise<void> {
  const aside = `${file}.stale.${process.pid}`;
  try {
    await fsp.rename(file, aside);
  } catch (err) {
    if (code(err) === "ENOENT") return;
    throw err;
  }
  const moved = await readOwner(aside);
  if (moved !== stalePid && moved !== undefined && !Number.isNaN(moved) && isRunning(moved)) {
    await fsp.link(aside, file).catch(() => {});
  }
  await fsp.rm(aside, { force: true });
}

/**
 * Locks `dir` (which must exist) for this process. If another running process holds it, the
 * error names the directory and that process.
 */
export async function lockDir(dir: string): Promise<DirLock> {
  const file = path.join(dir, LOCK_FILE);
  const count = held.get(file);
  if (count === undefined) {
    for (let attempt = 0; ; attempt++) {
      if (await tryCreate(file)) break;
      const owner = await readOwner(file);
      if (owner === process.pid) break; // left by an earlier open in this process
      if (owner !== undefined && !Number.isNaN(owner) && isRunning(owner)) {
        throw new DataDirError(
          "locked",
          `data dir ${dir} is in use by process ${owner} (lock ${file}): stop that process ` +
            "or pass another --data-dir",
        );
      }
      if (attempt >= 3) {
        throw new DataDirError(
          "locked",
          `data dir ${dir}: cannot take over the stale lock ${file}: remove it and start again`,
        );
      }
      // Gone meanwhile (released): just try again. Otherwise stale or unreadable: move it.
      if (owner !== undefined) await removeStale(file, owner);
    }
  }
  held.set(file, (count ?? 0) + 1);
  installExitHook();
  let released = false;
  return {
    file,
    async release(): Promise<void> {
      if (released) return;
      released = true;
      const left = (held.get(file) ?? 1) - 1;
      if (left > 0) {
        held.set(file, left);
        return;
      }
      held.delete(file);
      if ((await readOwner(file)) === process.pid) await fsp.rm(file, { force: true });
    },
  };
}
