#!/usr/bin/env node
// Back-to-back leader starts against the same two followers, as a user running sweeps does:
// each start is a fresh rafttoy-leader process running one short benchmark; every
// --kill-every-th start SIGKILLs a follower in the middle of the run and restarts it at
// once. Counts the starts that failed to lead (the goal is none) and those that failed
// otherwise. `make leader-starts`; a short version runs in `make test`.
//
//   node dist/src/e2e/leader-starts.js [--starts 200] [--kill-every 5] [--benchtime 1s]
//        [--wal mem] [--engine mem] [--tick 100ms] [--dir .data/leader-starts]
import { rmSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { type CommandSpec, intFlag, runCommand, text } from "../command/command.js";
import {
  loopbackPeers,
  type RunningProcess,
  startFollower,
  startLeader,
  stopProcess,
} from "../testing/processes.js";

export interface LeaderStartsOptions {
  starts: number;
  /** Every n-th start kills and restarts a follower mid-run; 0: never. */
  killEvery: number;
  benchtime: string;
  wal: string;
  engine: string;
  tick: string;
  dir: string;
  log?: (line: string) => void;
}

export interface StartOutcome {
  start: number;
  led: boolean;
  exitCode: number;
  killed: number | undefined;
  /** The leader's last stderr line when it did not succeed. */
  lastLine: string;
}

export interface LeaderStartsReport {
  outcomes: StartOutcome[];
  failedToLead: number;
  otherFailures: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runLeaderStarts(o: LeaderStartsOptions): Promise<LeaderStartsReport> {
  const log = o.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  rmSync(o.dir, { recursive: true, force: true });
  const peers = await loopbackPeers(3);
  const components = ["--wal", o.wal, "--engine", o.engine, "--tick", o.tick];
  const follower = (id: number): RunningProcess => startFollower(peers, id, o.dir, components);
  const followers = new Map<number, RunningProcess>([
    [2, follower(2)],
    [3, follower(3)],
  ]);
  const outcomes: StartOutcome[] = [];
  try {
    await Promise.all([...followers.values()].map((f) => f.waitFor(/serving on/)));
    for (let start = 1; start <= o.starts; start++) {
      const leader = startLeader(peers, o.dir, [
        ...components,
        "--bench",
        "conc=64/bytes=256",
        "--benchtime",
        o.benchtime,
        // Drops while a follower restarts are not what this counts; leading is.
        "--allow-drops",
      ]);
      let killed: number | undefined;
      if (o.killEvery > 0 && start % o.killEvery === 0) {
        killed = 2 + ((start / o.killEvery) % 2);
        // The leader says when the warm-up is over; then comes the measured run's epoch.
        const inRun = leader.waitFor(/warmed up/, 70_000).then(() => sleep(300));
        await inRun.catch(() => {});
        if (leader.child.exitCode === null) {
          const victim = followers.get(killed)!;
          victim.child.kill("SIGKILL");
          await victim.exited;
          const again = follower(killed);
          followers.set(killed, again);
          await again.waitFor(/serving on/).catch(() => {});
        }
      }
      const exitCode = await leader.exited;
      const led = /rafttoy-leader: leading/.test(leader.stderr());
      const lines = leader.stderr().trimEnd().split("\n");
      const outcome: StartOutcome = {
        start,
        led,
        exitCode,
        killed,
        lastLine: exitCode === 0 ? "" : (lines[lines.length - 1] ?? ""),
      };
      outcomes.push(outcome);
      for (const [id, f] of followers) {
        if (f.child.exitCode !== null) {
          throw new Error(`follower ${id} exited (${f.child.exitCode}):\n${f.stderr()}`);
        }
      }
      if (!led || exitCode !== 0) {
        log(
          `start ${start}: ${led ? "led" : "FAILED TO LEAD"}, exit ${exitCode}: ${outcome.lastLine}`,
        );
      } else if (start % 10 === 0) {
        log(`start ${start}/${o.starts}: ok so far (${failedToLead(outcomes)} failed to lead)`);
      }
    }
  } finally {
    await Promise.all([...followers.values()].map((f) => stopProcess(f)));
  }
  return {
    outcomes,
    failedToLead: failedToLead(outcomes),
    otherFailures: outcomes.filter((x) => x.led && x.exitCode !== 0).length,
  };
}

function failedToLead(outcomes: readonly StartOutcome[]): number {
  return outcomes.filter((x) => !x.led).length;
}

const LEADER_STARTS: CommandSpec<LeaderStartsOptions> = {
  name: "leader-starts",
  usage: `$0 [flags]

Starts leaders back to back against the same two followers and counts the starts that failed to lead. Prints one summary line; exits 0 when every start led and finished, 1 otherwise, 2 for bad flags.`,
  flags: (y) =>
    y
      .option("starts", { type: "string", describe: "leader starts (default 200)" })
      .option("kill-every", {
        type: "string",
        describe:
          "every K-th start SIGKILLs a follower mid-run and restarts it (default 5; 0: never)",
      })
      .option("benchtime", { type: "string", describe: "each leader's run (default 1s)" })
      .option("wal", { type: "string", describe: "the WAL of all three processes (default mem)" })
      .option("engine", { type: "string", describe: "the engine of all three (default mem)" })
      .option("tick", { type: "string", describe: "the Raft tick of all three (default 100ms)" })
      .option("dir", {
        type: "string",
        describe: "where the processes keep their data (default .data/leader-starts)",
      }),
  read: (raw) => ({
    starts: intFlag(raw, "starts", 1, Number.MAX_SAFE_INTEGER, 200),
    killEvery: intFlag(raw, "kill-every", 0, Number.MAX_SAFE_INTEGER, 5),
    benchtime: text(raw, "benchtime") ?? "1s",
    wal: text(raw, "wal") ?? "mem",
    engine: text(raw, "engine") ?? "mem",
    tick: text(raw, "tick") ?? "100ms",
    dir: text(raw, "dir") ?? ".data/leader-starts",
  }),
};

async function main(opts: LeaderStartsOptions): Promise<number> {
  const began = Date.now();
  const r = await runLeaderStarts(opts);
  const kills = r.outcomes.filter((x) => x.killed !== undefined).length;
  process.stdout.write(
    `${r.outcomes.length} leader starts (${kills} with a follower SIGKILLed and restarted mid-run, ${opts.wal} WAL + ${opts.engine} engine): ${r.failedToLead} failed to lead, ${r.otherFailures} led but exited non-zero, in ${Math.round((Date.now() - began) / 1000)} s\n`,
  );
  return r.failedToLead === 0 && r.otherFailures === 0 ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  runCommand(LEADER_STARTS, process.argv.slice(2), main).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`leader-starts: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
