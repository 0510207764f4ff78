#!/usr/bin/env node
// rafttoy-report: benchmark result files → one HTML page of plots (see src/report/).
import { reportMain } from "../report/report-cli.js";

// Output piped into `head` closes early: stop quietly instead of dying on EPIPE.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await reportMain(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
