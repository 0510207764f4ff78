import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { captureIo as capture } from "../testing/captured-io.js";
import { peerSimMain } from "./peer-sim-cli.js";

const PIPELINE_LINE =
  /^peer-sim: pipeline=(\S+) seeds=(\d+) first-seed=(\d+) steps=(\d+) violations=(\d+)( caught=\d+\/\d+ \([^)]*\))? steps\/s=\d+$/;

describe("rafttoy-sim --peer command line", () => {
  test("a clean run prints a line per seed and per pipeline and exits 0", async () => {
    const io = capture();
    const code = await peerSimMain(
      [
        "--peer",
        "--pipeline",
        "basic",
        "--seed",
        "5",
        "--seeds",
        "2",
        "--steps",
        "3000",
        "--verbose",
      ],
      io,
    );
    assert.equal(code, 0, io.stdout.join("\n"));
    const seedLines = io.stdout.filter((l) => l.startsWith("peer-sim: seed="));
    assert.deepEqual(
      seedLines.map((l) => /seed=(\d+)/.exec(l)![1]),
      ["5", "6"],
    );
    const m = PIPELINE_LINE.exec(io.stdout.at(-1)!);
    assert.ok(m, io.stdout.at(-1));
    assert.deepEqual([m[1], m[2], m[3], m[4], m[5]], ["basic", "2", "5", "6000", "0"]);
  });

  test("a planted bug is reported with its seed and a command that replays it, exit 1", async () => {
    const io = capture();
    const code = await peerSimMain(
      [
        "--peer",
        "--pipeline-bug",
        "ackBeforePersist",
        "--pipeline",
        "basic",
        "--no-shrink",
        "--trace",
        "3",
      ],
      io,
    );
    assert.equal(code, 1);
    const v = io.stdout.find((l) => l.startsWith("peer-sim: VIOLATION"));
    assert.match(v ?? "", /seed=1 pipeline=basic property=ack-uncommitted/);
    assert.ok(
      io.stdout.includes(
        "peer-sim: reproduce: rafttoy-sim --peer --pipeline basic --seed 1 --nodes 3 --steps 30000 --pipeline-bug ackBeforePersist",
      ),
      io.stdout.join("\n"),
    );
    assert.match(io.stdout.at(-1)!, / caught=1\/1 \(ack-uncommitted 1\) /);
  });

  test("bad flags are one line on stderr and exit 2", async () => {
    for (const args of [
      ["--peer", "--pipeline", "fast"],
      ["--peer", "--pipeline-bug", "nope"],
      ["--peer", "--pipeline", "basic", "--pipeline-bug", "lazySkipsCatchUp"],
      ["--peer", "--nodes", "0"],
    ]) {
      const io = capture();
      assert.equal(await peerSimMain(args, io), 2, args.join(" "));
      assert.equal(io.stderr.length, 1, io.stderr.join("\n"));
      assert.match(io.stderr[0]!, /^rafttoy-sim: [^\n]+$/);
    }
  });
});
