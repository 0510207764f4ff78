#!/usr/bin/env node
// rafttoy-kv: one node of the replicated key-value service (RESP2 and HTTP), until SIGINT or
// SIGTERM. `make kv` starts three of them on free ports (kv-cluster.ts).
import { parseKvArgs } from "../cli/kv-args.js";
import { checkBeforeStart } from "../cli/startup-checks.js";
import { kvComponentRegistries } from "../node/components.js";
import { exitCodeFor, log } from "../node/node.js";
import { joinThrough, membersThrough, startServiceNode } from "../service/service-node.js";
import { splitHostPort } from "../transport/address.js";
import { profileUntilExit } from "./cpu-profile.js";

async function main(): Promise<void> {
  const opts = parseKvArgs(process.argv.slice(2), kvComponentRegistries);
  await checkBeforeStart("rafttoy-kv", opts);
  if (opts.cpuProf !== undefined) profileUntilExit(opts.cpuProf, `kv-${opts.id}`, log);
  // Started with --listen: the members' addresses come from the member it joins through.
  if (opts.join !== undefined && opts.peers.length === 1) {
    for (const m of await membersThrough(opts.join, log)) {
      const at = splitHostPort(m.raft);
      if (m.id === opts.id || at === undefined) continue;
      opts.peers.push({ id: m.id, ...at });
    }
  }
  const node = await startServiceNode(opts, log, (err) => {
    log(`fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(exitCodeFor(err));
  });
  const me = opts.peers.find((p) => p.id === opts.id)!;
  log(
    `rafttoy-kv ${opts.id}: RESP ${node.respAddress}, HTTP ${node.httpAddress}, raft ${me.address} ` +
      `(${opts.wal} WAL, ${opts.engine} engine, ${opts.pipeline}, ${opts.transport}, reads ${opts.reads}` +
      `${opts.redirect ? ", redirect" : ""}${opts.adminFaults === true ? ", admin faults ON" : ""})`,
  );
  const codes = { SIGINT: 130, SIGTERM: 143 } as const;
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      const force = setTimeout(() => process.exit(codes[signal]), 5000);
      force.unref();
      node.stop().then(
        () => process.exit(codes[signal]),
        (err: unknown) => {
          log(`error while stopping: ${err instanceof Error ? err.message : String(err)}`);
          process.exit(1);
        },
      );
    });
  }
  if (opts.join !== undefined) {
    await joinThrough(
      opts.join,
      { id: opts.id, raft: me.address, resp: node.respAddress, http: node.httpAddress },
      log,
    );
    log(`rafttoy-kv ${opts.id}: joined through ${opts.join}`);
  }
}

main().catch((err: unknown) => {
  log(`rafttoy-kv: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(exitCodeFor(err));
});
