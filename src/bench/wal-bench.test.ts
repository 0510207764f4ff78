import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { parseWalBenchArgs, runWalBench, WAL_BATCHES, WAL_BYTES } from "./wal-bench.js";

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
  assert.throws(() => parseWalBenchArgs(["--bench", "x"]), /unknown argument "--bench": use --wal/);
  assert.throws(() => parseWalBenchArgs(["--bytes"]), /--bytes needs a value/);
});

test("wal bench prints the floors and one Go-style line per selected case", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-walbench-test-"));
  try {
    const lines: string[] = [];
    await runWalBench({ wals: ["mem"], batches: [1, 32], bytes: [256], timeMs: 20, dir }, (l) =>
      lines.push(l),
    );
    const results = lines.filter((l) => l.startsWith("Benchmark"));
    assert.deepEqual(
      results.map((l) => l.split("\t")[0]!.replace(/-\d+$/, "")),
      [
        "BenchmarkFdatasync/bytes=4096",
        "BenchmarkFdatasync/bytes=8192",
        "BenchmarkWal/wal=mem/batch=1/bytes=256",
        "BenchmarkWal/wal=mem/batch=32/bytes=256",
      ],
    );
    for (const l of results) assert.match(l, /\t\s*\d+\t\s*[\d.]+ ns\/op\t\s*[\d.]+ MB\/s$/, l);
    assert.deepEqual(fs.readdirSync(dir), [], "the bench removes what it wrote");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
