import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { attachNegativeValues, UsageError } from "./args.js";
import { parsePeers } from "./peers.js";
import { checkDataDir, checkJsonTarget, checkPeerAddresses } from "./startup-checks.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "rafttoy-startup-"));
  await writeFile(join(dir, "plain"), "x");
});
after(() => rm(dir, { recursive: true, force: true }));

const fakeDns = async (host: string): Promise<string[]> => {
  const table: Record<string, string[]> = {
    localhost: ["127.0.0.1", "::1"],
    "127.0.0.1": ["127.0.0.1"],
    "127.0.0.2": ["127.0.0.2"],
  };
  const a = table[host];
  if (a === undefined) throw Object.assign(new Error("no such host"), { code: "ENOTFOUND" });
  return a;
};

describe("checkPeerAddresses", () => {
  test("two names for one address and port are one peer", async () => {
    await assert.rejects(
      checkPeerAddresses(parsePeers("localhost:7501,127.0.0.2:7502,127.0.0.1:7501"), fakeDns),
      (e: Error) =>
        e instanceof UsageError &&
        /entries 1 .* and 3 .* same address 127\.0\.0\.1:7501/.test(e.message),
    );
  });

  test("the same address on other ports is fine; a host that does not resolve is not", async () => {
    await checkPeerAddresses(parsePeers("localhost:7501,127.0.0.1:7502"), fakeDns);
    await assert.rejects(
      checkPeerAddresses(parsePeers("127.0.0.1:7501,nowhere:7502"), fakeDns),
      /entry 2 nowhere:7502: host "nowhere" does not resolve \(ENOTFOUND\)/,
    );
  });
});

describe("checkDataDir", () => {
  test("a missing dir is fine (made later), a regular file is refused by name", async () => {
    await checkDataDir(join(dir, "new"));
    await checkDataDir(dir);
    await assert.rejects(checkDataDir(join(dir, "plain")), /is a regular file, not a directory/);
    await assert.rejects(
      checkDataDir(join(dir, "plain", "sub")),
      /a parent of it is a regular file/,
    );
  });
});

describe("checkJsonTarget", () => {
  test("a directory, a path under a file and an unwritable place are refused at start", async () => {
    await assert.rejects(checkJsonTarget(dir), /is a directory/);
    await assert.rejects(checkJsonTarget(`${dir}/`), /names a directory/);
    await assert.rejects(
      checkJsonTarget(join(dir, "plain", "r.json")),
      /a parent of it is a regular file/,
    );
    // Read-only even for root.
    await assert.rejects(
      checkJsonTarget("/sys/rafttoy-results.json"),
      /cannot be written \(EACCES\)/,
    );
  });

  test("a new file in a new directory is fine and leaves nothing behind", async () => {
    await checkJsonTarget(join(dir, "deeper", "r.json"));
    await checkJsonTarget(join(dir, "r.json"));
    const { readdir } = await import("node:fs/promises");
    assert.deepEqual((await readdir(dir)).sort(), ["plain"]);
  });
});

test("attachNegativeValues: a value that looks negative stays with its flag", () => {
  assert.deepEqual(attachNegativeValues(["--benchtime", "-1s", "--count", "2"]), [
    "--benchtime=-1s",
    "--count",
    "2",
  ]);
  assert.deepEqual(attachNegativeValues(["--metrics", "-1"]), ["--metrics", "-1"]);
  assert.deepEqual(attachNegativeValues(["--bench", "-h"]), ["--bench", "-h"]);
});
