#!/usr/bin/env node
// rafttoy-sim: the deterministic cluster simulator (see sim-cli.ts); with --peer, the
// whole-node simulator (see peer-sim-cli.ts).
import { hideBin } from "yargs/helpers";
import { peerSimMain } from "./peer-sim-cli.js";
import { simMain } from "./sim-cli.js";

const args = hideBin(process.argv);
const main = args.includes("--peer") ? peerSimMain : simMain;
process.exitCode = await main(args, {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  clock: () => performance.now(),
});
