// Kills a writer process at random moments, many times over, and checks after each kill
// that the log on disk is exactly the state after some operation the writer may have
// completed, and never older than the last operation it reported as resolved.
import assert from "node:assert/strict";
import { type ChildProcess, fork } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import type { Logger } from "../../raft/api.js";
import { SeededRng } from "../../raft/rng.js";
import type { Entry } from "../../raft/types.js";
import { type CrashOp, nextCrashOp } from "../../testing/wal-crash-workload.js";
import { FileWal } from "./file-wal.js";

const ROUNDS = 16;
const MAX_UNREPORTED_OPS = 16;
const writerPath = new URL(
  `../../testing/wal-crash-writer${path.extname(new URL(import.meta.url).pathname)}`,
  import.meta.url,
);

interface LogState {
  first: number;
  prevTerm: number;
  entries: Entry[];
}

function applyOp(s: LogState, op: CrashOp): LogState {
  if (op.kind === "compact") {
    const drop = op.upTo - s.first + 1;
    return {
      first: op.upTo + 1,
      prevTerm: s.entries[drop - 1]!.term,
      entries: s.entries.slice(drop),
    };
  }
  const keep = op.entries[0]!.index - s.first;
  return {
    first: s.first,
    prevTerm: s.prevTerm,
    entries: [...s.entries.slice(0, keep), ...op.entries],
  };
}

function endOf(s: LogState): { first: number; last: number; lastTerm: number } {
  const last = s.entries.at(-1);
  return {
    first: s.first,
    last: s.first + s.entries.length - 1,
    lastTerm: last?.term ?? s.prevTerm,
  };
}

/** Why `wal` differs from `s`, or undefined when it holds exactly that state. */
function difference(wal: FileWal, s: LogState): string | undefined {
  const last = s.first + s.entries.length - 1;
  if (wal.firstIndex() !== s.first || wal.lastIndex() !== last) {
    return `log is [${wal.firstIndex()}, ${wal.lastIndex()}], expected [${s.first}, ${last}]`;
  }
  if (wal.term(s.first - 1) !== s.prevTerm) return `term(${s.first - 1}) differs`;
  const got = wal.entries(s.first, last + 1);
  for (const [k, e] of s.entries.entries()) {
    const g = got[k]!;
    if (g.term !== e.term || !Buffer.from(g.data).equals(e.data)) return `entry ${e.index} differs`;
  }
  return undefined;
}

/** Runs the writer until the kill; returns how many operations it reported resolved. */
function runWriter(dir: string, seed: number, rng: SeededRng, window: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const execArgv = process.execArgv.filter((a) => !a.startsWith("--test"));
    const child: ChildProcess = fork(writerPath, [dir, String(seed), String(window)], {
      execArgv,
      stdio: "pipe",
    });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    let reported = 0;
    const killDuringOpen = rng.intn(4) === 0;
    const kill = () => child.kill("SIGKILL");
    child.on("message", (m: { opening?: boolean; ready?: boolean; done?: number }) => {
      if (m.opening && killDuringOpen) setTimeout(kill, rng.intn(4));
      // Timed from the first resolved append, not from the open: on a loaded machine a
      // fixed time after the open could pass every round before one append resolves.
      if (m.done === 0 && !killDuringOpen) setTimeout(kill, 5 + rng.intn(120));
      if (m.done !== undefined) reported = m.done + 1;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve(reported);
      else reject(new Error(`writer exited by itself (code ${code}): ${stderr}`));
    });
  });
}

/**
 * Kills the writer `rounds` times, with `window` operations in flight at once (more than
 * one makes the log group appends into one write and one fdatasync).
 */
async function crashRounds(rounds: number, window: number): Promise<void> {
  const baseSeed = Number(process.env.WAL_CRASH_SEED ?? Date.now() % 1_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-wal-crash-"));
  const rng = new SeededRng(baseSeed);
  let state: LogState = { first: 1, prevTerm: 0, entries: [] };
  try {
    for (let round = 0; round < rounds; round++) {
      const seed = baseSeed * 1000 + round;
      const context = `seed ${baseSeed} (WAL_CRASH_SEED=${baseSeed} reproduces), round ${round}`;
      const reported = await runWriter(dir, seed, rng, window);
      // Replay the same operation stream in the model, then find which state is on disk.
      const opRng = new SeededRng(seed);
      const candidates: LogState[] = [state];
      for (let k = 0; k < reported + MAX_UNREPORTED_OPS; k++) {
        candidates.push(applyOp(candidates.at(-1)!, nextCrashOp(opRng, endOf(candidates.at(-1)!))));
      }
      const warnings: string[] = [];
      const logger: Logger = { debug() {}, info() {}, warn: (m) => warnings.push(m) };
      const wal = await FileWal.open({ dir, segmentBytes: 16 * 1024, logger });
      try {
        const matched = candidates.findIndex(
          (c, k) => k >= reported && difference(wal, c) === undefined,
        );
        assert.ok(
          matched >= 0,
          `${context}: the recovered log matches no state after operation ${reported} or later ` +
            `(${reported} reported done; vs the last reported: ${difference(wal, candidates[reported]!)}; warnings: ${warnings.join(" | ")})`,
        );
        state = candidates[matched]!;
        if (process.env.WAL_CRASH_VERBOSE) {
          console.log(
            `${context}: ${reported} reported, state ${matched} on disk, log [${state.first}, ${endOf(state).last}], ${fs.readdirSync(dir).join(" ")}`,
          );
        }
      } finally {
        await wal.close();
      }
    }
    assert.ok(state.entries.length > 0 || state.first > 1, "the writer made progress");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("file wal: after SIGKILL at random moments the log is a prefix that holds every resolved append", () =>
  crashRounds(ROUNDS, 1));

test("file wal: the same with several appends in flight (group commit)", () =>
  crashRounds(ROUNDS / 2, 4));
