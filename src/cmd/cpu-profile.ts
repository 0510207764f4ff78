// --cpu-prof DIR: this process's CPU profile, taken in-process through the inspector (a binary
// run by hand cannot be given node's own --cpu-prof after it started) and written as
// DIR/<role>.cpuprofile, the format `node --cpu-prof` writes and Chrome DevTools opens.
// Written from the 'exit' handler, so every way out (the end of main, process.exit after a
// signal's graceful stop, a fatal error) leaves a profile; an in-process inspector session
// answers synchronously, which is what an 'exit' handler needs.
import { mkdirSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { join } from "node:path";

/** Starts profiling now; the profile is written when the process exits. Returns its path. */
export function profileUntilExit(dir: string, role: string, log: (line: string) => void): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${role}.cpuprofile`);
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  // 1 ms between samples, as node --cpu-prof: enough for a few-second run's hot paths.
  session.post("Profiler.setSamplingInterval", { interval: 1000 });
  session.post("Profiler.start");
  process.once("exit", () => {
    session.post("Profiler.stop", (err, result) => {
      if (err !== null || result === undefined) {
        log(`cpu profile: not written (${err?.message ?? "no profile"})`);
        return;
      }
      writeFileSync(path, JSON.stringify(result.profile));
      log(`cpu profile: ${path}`);
    });
    session.disconnect();
  });
  return path;
}

/** How to look at profiles, for the end of a run. */
export function howToOpenProfiles(dir: string): string {
  return (
    `CPU profiles in ${dir}/ (leader.cpuprofile, follower-<id>.cpuprofile): open one in ` +
    "Chrome DevTools (Performance tab > Load profile, or chrome://inspect > Open dedicated " +
    "DevTools for Node > Profiler > Load), or in VS Code; the format is node --cpu-prof's."
  );
}
