// Every program the project runs (package.json "bin" and the `node dist/src/...js` lines
// of package.json's scripts and the Makefile, so a new binary or benchmark is covered once
// it can be run) answers the same way: a bad flag is one line on stderr, "<name>: unknown
// flag ...", and exit 2 before anything starts; --help prints the usage on stdout, exit 0.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/** The programs, as paths under dist/src relative to the repository. */
function entryPoints(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
    bin: Record<string, string>;
  };
  const found = new Set(Object.values(pkg.bin));
  const texts = [
    readFileSync(join(ROOT, "package.json"), "utf8"),
    readFileSync(join(ROOT, "Makefile"), "utf8"),
  ];
  for (const text of texts) {
    for (const m of text.matchAll(/node (dist\/src\/[\w/-]+\.js)/g)) found.add(m[1]!);
  }
  // The import check is a test tool run by `make imports`: it takes no flags at all.
  found.delete("dist/src/testing/import-scan.js");
  return [...found].sort();
}

function run(
  file: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, file), ...args],
      { cwd: ROOT, timeout: 60_000, encoding: "utf8" },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const programs = entryPoints();

test("the programs are found", () => {
  // The nine binaries of package.json and the benchmarks beside them.
  assert.ok(programs.length >= 15, programs.join(" "));
  assert.ok(programs.includes("dist/src/bench/core-bench.js"));
  assert.ok(programs.includes("dist/src/cmd/rafttoy-kv.js"));
});

describe("every program: one-line usage error, exit 2; --help on stdout, exit 0", {
  concurrency: 4,
}, () => {
  for (const file of programs) {
    test(file, async () => {
      const bad = await run(file, ["--bogus-flag"]);
      const m =
        /^([a-z][a-z-]*): unknown flag --bogus-flag: remove it \(run with --help for the flags\)\n$/.exec(
          bad.stderr,
        );
      assert.ok(m !== null, `stderr: ${JSON.stringify(bad.stderr)}`);
      assert.equal(bad.code, 2);
      assert.equal(bad.stdout, "");
      const name = m[1]!;
      const help = await run(file, ["--help"]);
      assert.equal(help.code, 0, help.stderr);
      assert.equal(help.stderr, "");
      const first = help.stdout.split("\n")[0]!;
      assert.ok(first.includes(name), `the usage names ${name}: ${first}`);
      assert.ok(help.stdout.split("\n").length > 3, help.stdout);
    });
  }
});
