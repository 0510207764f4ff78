import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { parseCommand } from "../command/command.js";
import { openEngine } from "../storage/engine/registry.js";
import { ENGINE_COST_WARMUP_ENTRIES, measureEngineCost } from "./engine-cost.js";
import {
  runWalBench,
  WAL_BATCHES,
  WAL_BENCH,
  WAL_BYTES,
  type WalBenchOptions,
} from "./wal-bench.js";

function parseWalBenchArgs(argv: readonly string[]): WalBenchOptions {
  const parsed = parseCommand(WAL_BENCH, argv);
  if (!("options" in parsed)) throw new Error("--help was not asked for");
  return parsed.options;
}

test("wal bench flags: defaults, comma lists, and one-line errors", () => {
  const d = parseWalBenchArgs([]);
  assert.deepEqual(d.wals, ["mem", "file", "lmdb"]);
  assert.deepEqual(d.batches, WAL_BATCHES);
  assert.deepEqual(d.bytes, WAL_BYTES);
  const o = parseWalBenchArgs(["--wal", "file,lmdb", "--batch=1,64", "--bytes", "256"]);
  assert.deepEqual([o.wals, o.batches, o.bytes], [["file", "lmdb"], [1, 64], [256]]);
  assert.throws(
    () => parseWalBenchArgs(["--wal", "rocks"]),
    /unknown wal "rocks": choose from mem, file, lmdb/,
  );
  assert.throws(
    () => parseWalBenchArgs(["--batch", "0"]),
    /--batch: "0" is not a positive whole number/,
  );
  assert.throws(
    () => parseWalBenchArgs(["--bench", "x"]),
    /unknown flag --bench: remove it \(run with --help for the flags\)/,
  );
  assert.throws(() => parseWalBenchArgs(["--bytes"]), /--bytes needs a value/);
  assert.deepEqual([d.engines, d.everyMs], [[], 2]);
  const e = parseWalBenchArgs(["--wal", "none", "--engine", "mem,lmdb", "--every", "0"]);
  assert.deepEqual([e.wals, e.engines, e.everyMs], [[], ["mem", "lmdb"], 0]);
  assert.throws(
    () => parseWalBenchArgs(["--engine", "rocks"]),
    /--engine: unknown engine "rocks": choose from mem, lmdb/,
  );
});

test("wal bench --engine: one line per engine case with CPU per applied entry, WAL cases left out", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-walbench-test-"));
  try {
    const lines: string[] = [];
    const opts = { wals: [], batches: [64], bytes: [256], timeMs: 50, dir, everyMs: 1 };
    await runWalBench({ ...opts, engines: ["mem"] }, (l) => lines.push(l));
    const results = lines.filter((l) => l.startsWith("Benchmark"));
    assert.deepEqual(
      results.map((l) => l.split("\t")[0]!.replace(/-\d+$/, "")),
      [
        "BenchmarkFdatasync/bytes=4096",
        "BenchmarkFdatasync/bytes=16384",
        "BenchmarkEngine/engine=mem/batch=64/bytes=256/every=1ms",
      ],
    );
    assert.match(
      results[2]!,
      /\t\s*\d+\t\s*[\d.]+ main-cpu-us\/entry\t\s*[\d.]+ other-cpu-us\/entry\t\s*[\d.]+ sys-cpu-us\/entry\t\s*[\d.]+ entries\/s$/,
    );
    assert.deepEqual(fs.readdirSync(dir), [], "the bench removes what it wrote");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("engine cost: lmdb's commits are counted on the threads they run on, every entry measured is applied", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-enginecost-test-"));
  const engine = await openEngine("lmdb", { dir });
  try {
    const cost = await measureEngineCost(engine, {
      batch: 1024,
      bytes: 256,
      everyMs: 0,
      timeMs: 400,
    });
    assert.equal(cost.entries % 1024, 0);
    assert.equal(engine.appliedIndex(), ENGINE_COST_WARMUP_ENTRIES + cost.entries);
    // lmdb writes and syncs its pages on its own write thread: a figure read from the main
    // thread alone would be zero here.
    assert.ok(cost.otherUsPerEntry > 0, `other threads' CPU per entry: ${cost.otherUsPerEntry}`);
    assert.ok(cost.mainUsPerEntry > 0, `main thread's CPU per entry: ${cost.mainUsPerEntry}`);
    assert.ok(cost.systemUsPerEntry <= cost.mainUsPerEntry + cost.otherUsPerEntry);
  } finally {
    await engine.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

const WAL_CASES: { wals: string[]; batches: number[]; expected: string[] }[] = [
  {
    wals: ["mem"],
    batches: [1, 32],
    expected: [
      "BenchmarkFdatasync/bytes=4096",
      "BenchmarkFdatasync/bytes=8192",
      "BenchmarkWal/wal=mem/batch=1/bytes=256",
      "BenchmarkWal/wal=mem/batch=32/bytes=256",
    ],
  },
  {
    // With the file WAL, its write without the I/O thread follows the floors.
    wals: ["file"],
    batches: [1],
    expected: [
      "BenchmarkFdatasync/bytes=4096",
      "BenchmarkOverwriteSync/mode=fdatasync/bytes=4096",
      "BenchmarkOverwriteSync/mode=o_dsync/bytes=4096",
      "BenchmarkWal/wal=file/batch=1/bytes=256",
    ],
  },
];

for (const c of WAL_CASES) {
  test(`wal bench --wal ${c.wals.join(",")}: the floors, then one Go-style line per case`, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-walbench-test-"));
    try {
      const lines: string[] = [];
      const { wals, batches } = c;
      await runWalBench(
        { wals, batches, bytes: [256], timeMs: 20, dir, engines: [], everyMs: 2 },
        (l) => lines.push(l),
      );
      const results = lines.filter((l) => l.startsWith("Benchmark"));
      assert.deepEqual(
        results.map((l) => l.split("\t")[0]!.replace(/-\d+$/, "")),
        c.expected,
      );
      for (const l of results) assert.match(l, /\t\s*\d+\t\s*[\d.]+ ns\/op\t\s*[\d.]+ MB\/s$/, l);
      assert.deepEqual(fs.readdirSync(dir), [], "the bench removes what it wrote");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
