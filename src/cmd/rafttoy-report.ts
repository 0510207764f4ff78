#!/usr/bin/env node
// rafttoy-report: benchmark result files → one HTML page of plots (see src/report/).
import { reportMain } from "../report/report-cli.js";

process.exitCode = await reportMain(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
