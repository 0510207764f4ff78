#!/usr/bin/env node
// rafttoy-sim: the deterministic cluster simulator (see sim-cli.ts).
import { hideBin } from "yargs/helpers";
import { simMain } from "./sim-cli.js";

process.exitCode = await simMain(hideBin(process.argv), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  clock: () => performance.now(),
});
