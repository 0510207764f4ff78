import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { patternText } from "../bench/matrix.js";
import type { ComponentRegistries } from "../node/components.js";
import { type CliIo, parseFollowerArgs, parseLeaderArgs, SHARED_NODE_FLAGS } from "./args.js";

const registries: ComponentRegistries = {
  pipeline: { names: ["basic", "parallel-append", "async-apply"], default: "parallel-append" },
  wal: { names: ["mem", "file", "lmdb"], default: "file" },
  engine: { names: ["mem", "lmdb"], default: "lmdb" },
  transport: { names: ["grpc", "tcp"], default: "grpc" },
};

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Runs a parse with captured output; an exit becomes a returned code. */
function capture<T>(parse: (io: CliIo) => T): {
  value?: T;
  code?: number;
  stdout: string;
  stderr: string;
} {
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
    return { value: parse(io), stdout, stderr };
  } catch (error) {
    if (error instanceof Exit) return { code: error.code, stdout, stderr };
    throw error;
  }
}

const PEERS = ["--peers", "127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003"];

describe("parseFollowerArgs", () => {
  test("defaults", () => {
    const { value, stderr } = capture((io) =>
      parseFollowerArgs([...PEERS, "--id", "2"], registries, io),
    );
    assert.equal(stderr, "");
    assert.deepEqual(value, {
      peers: [
        { id: 1, host: "127.0.0.1", port: 7001, address: "127.0.0.1:7001" },
        { id: 2, host: "127.0.0.1", port: 7002, address: "127.0.0.1:7002" },
        { id: 3, host: "127.0.0.1", port: 7003, address: "127.0.0.1:7003" },
      ],
      id: 2,
      dataDir: ".data/node-2",
      pipeline: "parallel-append",
      wal: "file",
      diskDelayMs: 0,
      compactEvery: { unit: "either", entries: 50000, bytes: 64 << 20 },
      engine: "lmdb",
      transport: "grpc",
      netDelay: { delayMs: 0, jitterMs: 0 },
      metrics: false,
      tickMs: 100,
      electionTicks: 10,
      heartbeatTicks: 1,
      maxInflightMsgs: 256,
    });
  });

  test("every flag set", () => {
    const { value } = capture((io) =>
      parseFollowerArgs(
        [
          "--peers=[::1]:1,localhost:2",
          "--id=1",
          "--data-dir",
          "/tmp/x",
          "--pipeline",
          "basic",
          "--wal",
          "mem",
          "--wal-delay",
          "5ms",
          "--engine",
          "mem",
          "--transport",
          "tcp",
          "--net-delay",
          "1ms±200us",
          "--metrics",
          "--tick",
          "50ms",
          "--election-ticks",
          "20",
          "--heartbeat-ticks",
          "2",
          "--max-inflight",
          "4",
        ],
        registries,
        io,
      ),
    );
    assert.deepEqual(value?.peers[0], { id: 1, host: "::1", port: 1, address: "[::1]:1" });
    assert.equal(value?.dataDir, "/tmp/x");
    assert.equal(value?.pipeline, "basic");
    assert.equal(value?.wal, "mem");
    assert.equal(value?.diskDelayMs, 5);
    assert.equal(value?.engine, "mem");
    assert.equal(value?.transport, "tcp");
    assert.deepEqual(value?.netDelay, { delayMs: 1, jitterMs: 0.2 });
    assert.equal(value?.metrics, true);
    assert.equal(value?.tickMs, 50);
    assert.equal(value?.electionTicks, 20);
    assert.equal(value?.heartbeatTicks, 2);
    assert.equal(value?.maxInflightMsgs, 4);
  });

  test("--help prints every flag and exits 0", () => {
    const { code, stdout, stderr } = capture((io) => parseFollowerArgs(["--help"], registries, io));
    assert.equal(code, 0);
    assert.equal(stderr, "");
    for (const flag of [
      "--peers",
      "--id",
      "--data-dir",
      ...SHARED_NODE_FLAGS.map((f) => `--${f}`),
    ]) {
      assert.ok(stdout.includes(flag), `help lacks ${flag}`);
    }
    assert.ok(stdout.includes("basic, parallel-append, async-apply"), "help lists the pipelines");
    assert.ok(!stdout.includes("--benchtime"), "leader-only flags are not in the follower's help");
  });
});

describe("parseLeaderArgs", () => {
  test("defaults and bench flags", () => {
    const base = [...PEERS, "--id", "1"];
    const defaults = capture((io) => parseLeaderArgs(base, registries, io)).value;
    assert.equal(defaults?.bench.source, ".");
    assert.deepEqual(defaults?.benchtime, { kind: "duration", ms: 1000 });
    assert.equal(defaults?.count, 1);
    assert.equal(defaults?.maxrate, 0);
    assert.equal(defaults?.json, undefined);
    const set = capture((io) =>
      parseLeaderArgs(
        [
          ...base,
          "--bench",
          "conc=512/bytes=256",
          "--benchtime",
          "100000x",
          "--count",
          "3",
          "--maxrate",
          "0",
          "--json",
          "out.json",
        ],
        registries,
        io,
      ),
    ).value;
    assert.equal(patternText(set!.bench), "conc=512/bytes=256");
    assert.deepEqual(set?.benchtime, { kind: "count", proposals: 100_000 });
    assert.equal(set?.count, 3);
    assert.equal(set?.json, "out.json");
    const open = capture((io) =>
      parseLeaderArgs([...base, "--maxrate", "25000"], registries, io),
    ).value;
    assert.equal(open?.maxrate, 25_000);
  });

  test("--help documents the bench flags and the selection rule", () => {
    const { code, stdout } = capture((io) => parseLeaderArgs(["-h"], registries, io));
    assert.equal(code, 0);
    for (const word of [
      "--bench",
      "--benchtime",
      "--count",
      "--maxrate",
      "--json",
      "conc=512/bytes=1024",
      "100000x",
    ]) {
      assert.ok(stdout.includes(word), `help lacks ${word}`);
    }
  });

  const bad: Array<[string, string[], RegExp]> = [
    ["an unknown flag", [...PEERS, "--id", "1", "--bogus"], /unknown flag --bogus/],
    ["a stray argument", [...PEERS, "--id", "1", "stray"], /unknown argument "stray"/],
    ["no --peers", ["--id", "1"], /--peers is missing/],
    ["an empty --peers", ["--peers", "", "--id", "1"], /--peers needs a value/],
    ["a peer without a port", ["--peers", "a:1,b", "--id", "1"], /entry 2 "b" is not host:port/],
    ["a port out of range", ["--peers", "a:1,b:70000", "--id", "1"], /port 70000: use 1\.\.65535/],
    ["a trailing comma", ["--peers", "a:1,", "--id", "1"], /entry 2 "" is not host:port/],
    ["a duplicate peer", ["--peers", "a:1,b:2,A:1", "--id", "1"], /entries 1 and 3 are both A:1/],
    ["no --id", PEERS, /--id is missing: .*1\.\.3/],
    ["--id 0", [...PEERS, "--id", "0"], /--id "0" is not a member: pick 1\.\.3/],
    ["--id beyond the peers", [...PEERS, "--id", "4"], /--id "4" is not a member/],
    ["a non-numeric --id", [...PEERS, "--id", "two"], /--id "two" is not a member/],
    ["a repeated flag", [...PEERS, "--id", "1", "--id", "2"], /--id is given 2 times/],
    [
      "an unknown pipeline",
      [...PEERS, "--id", "1", "--pipeline", "fast"],
      /--pipeline "fast" is unknown: use one of basic, parallel-append, async-apply/,
    ],
    [
      "an unknown wal",
      [...PEERS, "--id", "1", "--wal", "disk"],
      /--wal "disk" is unknown: use one of mem, file, lmdb/,
    ],
    [
      "an unknown engine",
      [...PEERS, "--id", "1", "--engine", "rocks"],
      /--engine "rocks" is unknown/,
    ],
    [
      "a duration without unit",
      [...PEERS, "--id", "1", "--wal-delay", "5"],
      /--disk-delay: "5" is not a duration/,
    ],
    [
      "an unknown transport",
      [...PEERS, "--id", "1", "--transport", "udp"],
      /--transport "udp" is unknown: use one of grpc, tcp/,
    ],
    [
      "a net delay without unit",
      [...PEERS, "--id", "1", "--net-delay", "1"],
      /--net-delay: "1" is not a duration/,
    ],
    [
      "a jitter above the delay",
      [...PEERS, "--id", "1", "--net-delay", "1ms±2ms"],
      /--net-delay: jitter 2ms is larger than the delay 1ms/,
    ],
    ["a zero tick", [...PEERS, "--id", "1", "--tick", "0s"], /--tick must be above 0/],
    [
      "heartbeat not below election",
      [...PEERS, "--id", "1", "--election-ticks", "3", "--heartbeat-ticks", "3"],
      /must be below --election-ticks/,
    ],
    [
      "a non-numeric tick count",
      [...PEERS, "--id", "1", "--election-ticks", "ten"],
      /--election-ticks "ten" is not a whole number/,
    ],
    [
      "an in-flight window of 0",
      [...PEERS, "--id", "1", "--max-inflight", "0"],
      /--max-inflight "0" is not a whole number >= 1/,
    ],
    [
      "a boolean with a value",
      [...PEERS, "--id", "1", "--metrics=yes"],
      /--metrics takes no value/,
    ],
    [
      "a broken regex",
      [...PEERS, "--id", "1", "--bench", "conc=("],
      /--bench "conc=\(" is not a valid regex/,
    ],
    [
      "a regex matching nothing",
      [...PEERS, "--id", "1", "--bench", "conc=x"],
      /matches no benchmark/,
    ],
    [
      "a bad benchtime",
      [...PEERS, "--id", "1", "--benchtime", "2"],
      /--benchtime "2" is neither a duration/,
    ],
    [
      "a zero count",
      [...PEERS, "--id", "1", "--count", "0"],
      /--count "0" is not a whole number >= 1/,
    ],
    ["a negative rate", [...PEERS, "--id", "1", "--maxrate", "-5"], /--maxrate "-5" is not a rate/],
    ["a --json without a file", [...PEERS, "--id", "1", "--json"], /--json needs a value/],
  ];
  for (const [what, argv, message] of bad) {
    test(`${what}: one line on stderr, exit 2`, () => {
      const { code, stdout, stderr, value } = capture((io) =>
        parseLeaderArgs(argv, registries, io),
      );
      assert.equal(value, undefined);
      assert.equal(code, 2, stderr);
      assert.equal(stdout, "");
      assert.match(stderr, /^rafttoy-leader: [^\n]+\n$/, "exactly one line");
      assert.match(stderr, message);
    });
  }

  test("a default that the registry lacks is a programming error, not a usage error", () => {
    const broken = { ...registries, wal: { names: ["mem"], default: "file" } };
    assert.throws(() => parseLeaderArgs([...PEERS, "--id", "1"], broken), /default --wal file/);
  });
});

describe("help on storage", () => {
  test("--help says which flags open the combined lmdb storage", () => {
    for (const parse of [parseFollowerArgs, parseLeaderArgs]) {
      const { code, stdout } = capture((io) => parse(["--help"], registries, io));
      assert.equal(code, 0);
      const text = stdout.replace(/\s+/g, " ");
      assert.match(
        text,
        /--wal lmdb with --engine lmdb opens the combined lmdb storage: entries and hard state in one transaction/,
      );
    }
  });
});
