#!/usr/bin/env node
// rafttoy-compare: two benchmark result files → benchstat-style comparison (src/report/).
import { compareMain } from "../report/compare-cli.js";

// Output piped into `head` closes early: stop quietly instead of dying on EPIPE.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await compareMain(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
