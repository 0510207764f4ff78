#!/usr/bin/env node
// rafttoy-compare: two benchmark result files → benchstat-style comparison (src/report/).
import { compareMain } from "../report/compare-cli.js";

process.exitCode = await compareMain(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
