// CPU time a process has used so far (all its threads: the event loop, the WAL's I/O thread,
// libuv's pool, lmdb's writer), read from Linux's /proc/<pid>/stat. On a machine that other
// work shares, CPU time per operation says more about a change than ops/s, which is set as
// much by who else runs as by the code measured.
import { readFileSync } from "node:fs";

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on every Linux ABI). */
const USER_HZ = 100;

/** User + system CPU seconds of process `pid`, or undefined where /proc cannot tell. */
export function processCpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: count from after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // utime and stime are fields 14 and 15, i.e. 12 and 13 after the name and state.
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return (utime + stime) / USER_HZ;
}
