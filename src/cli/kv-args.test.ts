import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { kvComponentRegistries } from "../node/components.js";
import type { CliIo } from "./args.js";
import { parseKvArgs } from "./kv-args.js";

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function parse(argv: string[]) {
  let stdout = "";
  let stderr = "";
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    exit: (code) => {
      throw new Exit(code);
    },
  };
  try {
    return { value: parseKvArgs(argv, kvComponentRegistries, io), stdout, stderr, code: undefined };
  } catch (e) {
    if (e instanceof Exit) return { value: undefined, stdout, stderr, code: e.code };
    throw e;
  }
}

const PEERS = ["--peers", "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003", "--id", "2"];

describe("rafttoy-kv flags", () => {
  test("durable defaults and the service's own flags", () => {
    const { value } = parse(PEERS);
    assert.equal(value?.wal, "file");
    assert.equal(value?.engine, "lmdb");
    assert.equal(value?.transport, "tcp", "the service's nodes default to raw TCP");
    assert.deepEqual(value?.resp, { host: "127.0.0.1", port: 6379 });
    assert.deepEqual(value?.http, { host: "127.0.0.1", port: 8080 });
    assert.equal(value?.reads, "linearizable");
    assert.equal(value?.redirect, false);
    assert.equal(value?.adminFaults, false, "fault injection is off unless asked for");
    assert.equal(value?.join, undefined);
    assert.deepEqual(value?.limits, { maxKeyBytes: 0, maxValueBytes: 0, maxKeys: 0 });
    const full = parse([
      ...PEERS,
      "--resp",
      "0.0.0.0:7379",
      "--http",
      "[::1]:0",
      "--join",
      "127.0.0.1:8080",
      "--redirect",
      "--admin-faults",
      "--reads",
      "stale",
      "--max-key-bytes",
      "64",
      "--max-value-bytes",
      "1024",
      "--max-keys",
      "10",
      "--pipeline",
      "basic",
    ]).value;
    assert.deepEqual(full?.http, { host: "::1", port: 0 });
    assert.equal(full?.join, "http://127.0.0.1:8080");
    assert.equal(full?.redirect, true);
    assert.equal(full?.adminFaults, true);
    assert.equal(full?.reads, "stale");
    assert.equal(full?.pipeline, "basic");
    assert.deepEqual(full?.limits, { maxKeyBytes: 64, maxValueBytes: 1024, maxKeys: 10 });
  });

  test("bad input: one line naming the flag, exit 2", () => {
    const cases: [string[], RegExp][] = [
      [["--reads", "fast"], /^rafttoy-kv: --reads "fast" is unknown: use linearizable or stale\n$/],
      [["--resp", "6379"], /--resp "6379" is not host:port/],
      [["--max-keys", "-1"], /--max-keys/],
      [["--join", "ftp://x:1"], /--join .*only http/],
      [["--resp", "127.0.0.1:7000", "--http", "127.0.0.1:7000"], /both 127\.0\.0\.1:7000/],
      [["--bogus"], /unknown flag --bogus/],
    ];
    for (const [extra, expected] of cases) {
      const r = parse([...PEERS, ...extra]);
      assert.equal(r.code, 2, extra.join(" "));
      assert.match(r.stderr, expected);
      assert.equal(r.stderr.split("\n").length, 2, "one line");
    }
  });

  test("--help lists the service's flags and the node's", () => {
    const r = parse(["--help"]);
    assert.equal(r.code, 0);
    for (const flag of [
      "--resp",
      "--http",
      "--join",
      "--redirect",
      "--reads",
      "--max-keys",
      "--wal",
      "--pipeline",
    ]) {
      assert.ok(r.stdout.includes(flag), flag);
    }
  });

  test("a pipeline whose followers never apply is a usage error: one line, exit 2", () => {
    const { value, stderr, code } = parse([
      ...PEERS,
      "--pipeline",
      "async-apply-early-ack-lazy-follower",
    ]);
    assert.equal(value, undefined);
    assert.equal(code, 2);
    assert.match(
      stderr,
      /^rafttoy-kv: --pipeline async-apply-early-ack-lazy-follower leaves followers' state unapplied.*\n$/,
    );
    assert.equal(stderr.split("\n").length, 2, "one line");
    assert.match(
      parse(["--help"]).stdout,
      /async-apply-early-ack-lazy-follower is refused \(exit 2\)/,
    );
  });

  test("a joiner needs only --join, --listen (its own Raft address) and --id", () => {
    const join = ["--join", "http://127.0.0.1:8080"];
    const { value, code } = parse([...join, "--listen", "127.0.0.1:7004", "--id", "4"]);
    assert.equal(code, undefined);
    assert.equal(value?.id, 4);
    assert.deepEqual(
      value?.peers.map((p) => [p.id, p.address]),
      [[4, "127.0.0.1:7004"]],
    );
    assert.equal(value?.join, "http://127.0.0.1:8080");
    const refused = (argv: string[], why: RegExp) => {
      const r = parse(argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.match(r.stderr, why);
    };
    refused(["--listen", "127.0.0.1:7004", "--id", "4"], /--listen needs --join/);
    refused([...join, "--listen", "127.0.0.1:7004"], /--id is missing/);
    refused([...join, "--listen", "127.0.0.1:0", "--id", "4"], /--listen needs a port/);
    refused([...PEERS, ...join, "--listen", "127.0.0.1:7004"], /--listen and --peers are both/);
    // Without --listen, --peers is required as before.
    refused([...join, "--id", "4"], /--peers is missing/);
  });
});
