#!/usr/bin/env node
// rafttoy-jepsen: a rafttoy-kv cluster under faults, its clients' history checked (the binary; it sits beside the harness because jepsen is above cmd in the layer order).
import { jepsenMain } from "./cli.js";

process.exitCode = await jepsenMain(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
// Clients' sockets and timers are closed; nothing should keep the process, but a node
// that will not die must not either.
process.exit(process.exitCode);
