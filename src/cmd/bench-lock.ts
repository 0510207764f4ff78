// kv-bench takes the benchmark lock itself around each timed command (flock), so a kv-bench
// started under `flock /tmp/bench.lock ...` waits for a lock its own ancestor holds: for
// ever, and silently. Before each wait this probes the lock for a few seconds; when it stays
// taken, one message on stderr says which lock is waited for, why, who holds it (from
// /proc/locks), and that wrapping kv-bench in flock is the usual cause. Then the caller
// keeps waiting as before: the holder may be another benchmark that will finish.
import { spawn } from "node:child_process";
import { readFile, stat } from "node:fs/promises";

/** How long the lock may stay taken before the message is written. */
export const LOCK_NOTICE_AFTER_S = 5;

/** The pids holding a flock on the file with inode `inode`, from /proc/locks' text. */
export function flockHolders(procLocks: string, inode: number): number[] {
  const holders: number[] = [];
  for (const line of procLocks.split("\n")) {
    // "1: FLOCK  ADVISORY  WRITE 9160 fe:00:2146531 0 EOF"; waiters have "->" after the number.
    const m = /^\d+:\s+(->\s+)?FLOCK\s+\S+\s+\S+\s+(\d+)\s+[0-9a-f]+:[0-9a-f]+:(\d+)\s/.exec(line);
    if (m === null || m[1] !== undefined || Number(m[3]) !== inode) continue;
    holders.push(Number(m[2]));
  }
  return holders;
}

/** The parent pid in /proc/PID/stat's text ("pid (comm) state ppid ..."; comm may hold spaces). */
export function parentPid(statText: string): number | undefined {
  const m = /\)\s+\S+\s+(\d+)/.exec(statText.slice(statText.lastIndexOf(")")));
  return m === null ? undefined : Number(m[1]);
}

/** This process's ancestors, nearest first, up to init. */
async function ancestors(): Promise<number[]> {
  const out: number[] = [];
  let pid = process.ppid;
  while (pid > 1 && out.length < 64) {
    out.push(pid);
    const text = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    const parent = parentPid(text);
    if (parent === undefined) break;
    pid = parent;
  }
  return out;
}

async function commandOf(pid: number): Promise<string> {
  const raw = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
  return raw.split("\0").filter(Boolean).join(" ") || "?";
}

/** The message for a lock still taken after LOCK_NOTICE_AFTER_S. */
export function lockNotice(
  program: string,
  lock: string,
  holders: readonly { pid: number; command: string; ancestor: boolean }[],
): string {
  const who =
    holders.length === 0
      ? "its holder is unknown"
      : holders.map((h) => `held by pid ${h.pid} (${h.command})`).join(", ");
  const mine = holders.find((h) => h.ancestor);
  const verdict =
    mine !== undefined
      ? `pid ${mine.pid} is an ancestor of this process: it was started under flock ${lock}, so this waits for ever. Stop it and run ${program} without flock: it takes the lock itself`
      : `if ${program} was started under flock ${lock} (e.g. \`flock ${lock} make bench-kv\`), it waits for ever: run it without flock, it takes the lock itself; else another benchmark is running, and this waits for it`;
  return `${program}: waiting for ${lock} (${who}): it is taken around each timed command so that no two timings on this machine overlap; ${verdict}`;
}

/** Whether `flock -w seconds lock true` got the lock (and let it go at once). */
function probe(lock: string, seconds: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const child = spawn("flock", ["-w", String(seconds), lock, "true"], { stdio: "ignore" });
    child.once("error", reject);
    child.once("exit", (code) => resolve(code === 0));
  });
}

/**
 * Returns at once when `lock` is free; when it stays taken for `afterS` seconds, writes
 * lockNotice on `stderr` (once per process) and returns: the caller then waits as usual.
 */
export async function noticeLockWait(
  program: string,
  lock: string,
  stderr: (line: string) => void,
  afterS = LOCK_NOTICE_AFTER_S,
): Promise<void> {
  if (noticed.has(lock) || (await probe(lock, afterS))) return;
  noticed.add(lock);
  const [locks, inode, mine] = await Promise.all([
    readFile("/proc/locks", "utf8").catch(() => ""),
    stat(lock).then(
      (s) => s.ino,
      () => -1,
    ),
    ancestors(),
  ]);
  const holders = await Promise.all(
    flockHolders(locks, inode).map(async (pid) => ({
      pid,
      command: await commandOf(pid),
      ancestor: mine.includes(pid),
    })),
  );
  stderr(lockNotice(program, lock, holders));
}

const noticed = new Set<string>();
