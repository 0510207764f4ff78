// SIGKILLs a process appending to the lmdb log at random moments and checks, after each
// kill, that the reopened log is exactly the state after some operation the writer may
// have completed, and never older than the last one it saw resolve.
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { SeededRng } from "../../raft/rng.js";
import type { Entry } from "../../raft/types.js";
import { type CrashOp, type LogEnd, nextCrashOp } from "../../testing/wal-crash-workload.js";
import { openLmdbWal } from "./lmdb-wal.js";
import type { Wal } from "./wal.js";

const ROUNDS = 8;
/** Operations the writer may finish after its last report reaches the parent. */
const SLACK = 16;
const writer = new URL(
  `../../testing/lmdb-wal-crash-writer${path.extname(new URL(import.meta.url).pathname)}`,
  import.meta.url,
);

interface Model {
  first: number;
  prevTerm: number;
  entries: Entry[];
}

function step(m: Model, op: CrashOp): Model {
  if (op.kind === "compact") {
    const drop = op.upTo - m.first + 1;
    return {
      first: op.upTo + 1,
      prevTerm: m.entries[drop - 1]!.term,
      entries: m.entries.slice(drop),
    };
  }
  const keep = op.entries[0]!.index - m.first;
  return {
    first: m.first,
    prevTerm: m.prevTerm,
    entries: [...m.entries.slice(0, keep), ...op.entries],
  };
}

function endOf(m: Model): LogEnd {
  return {
    first: m.first,
    last: m.first + m.entries.length - 1,
    lastTerm: m.entries.at(-1)?.term ?? m.prevTerm,
  };
}

function holds(wal: Wal, m: Model): boolean {
  const last = m.first + m.entries.length - 1;
  if (wal.firstIndex() !== m.first || wal.lastIndex() !== last) return false;
  if (wal.term(m.first - 1) !== m.prevTerm) return false;
  const got = wal.entries(m.first, last + 1);
  return m.entries.every(
    (e, k) => got[k]!.term === e.term && Buffer.from(got[k]!.data).equals(e.data),
  );
}

/** Runs the writer until a random kill; resolves with the operations it reported done. */
function runUntilKilled(dir: string, seed: number, rng: SeededRng): Promise<number> {
  return new Promise((resolve, reject) => {
    const execArgv = process.execArgv.filter((a) => !a.startsWith("--test"));
    const child = fork(writer, [dir, String(seed)], { execArgv, stdio: "pipe" });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    let reported = 0;
    child.on("message", (m: { ready?: boolean; done?: number }) => {
      if (m.ready) setTimeout(() => child.kill("SIGKILL"), 5 + rng.intn(100));
      if (m.done !== undefined) reported = m.done;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve(reported);
      else reject(new Error(`writer exited by itself (code ${code}): ${stderr}`));
    });
  });
}

test("lmdb wal: after SIGKILL at random moments the log holds every resolved operation", async () => {
  const baseSeed = Number(process.env.WAL_CRASH_SEED ?? Date.now() % 1_000_000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-lmdb-crash-"));
  const rng = new SeededRng(baseSeed);
  let model: Model = { first: 1, prevTerm: 0, entries: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const seed = baseSeed * 100 + round;
      const reported = await runUntilKilled(dir, seed, rng);
      const opRng = new SeededRng(seed);
      const states = [model];
      for (let k = 0; k < reported + SLACK; k++) {
        const last = states.at(-1)!;
        states.push(step(last, nextCrashOp(opRng, endOf(last))));
      }
      const wal = await openLmdbWal({ dir });
      try {
        const k = states.findIndex((s, i) => i >= reported && holds(wal, s));
        assert.ok(
          k >= 0,
          `seed ${baseSeed} (WAL_CRASH_SEED=${baseSeed} reproduces), round ${round}: the log ` +
            `[${wal.firstIndex()}, ${wal.lastIndex()}] matches no state at or after operation ${reported}`,
        );
        model = states[k]!;
      } finally {
        await wal.close();
      }
    }
    assert.ok(model.entries.length > 0 || model.first > 1, "the writer made progress");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
