// Opens a node's storage from its --wal / --engine / --data-dir choices. `--wal lmdb
// --engine lmdb` opens the combined lmdb storage: log and hard state of one Ready in one
// transaction, one durable commit per Ready instead of two.
import { openDataDir } from "../storage/data-dir.js";
import { openEngine } from "../storage/engine/registry.js";
import { openLmdbStorage } from "../storage/lmdb-storage.js";
import { reconcile, type Storage, split } from "../storage/storage.js";
import { openWal } from "../storage/wal/registry.js";
import type { NodeOptions } from "./options.js";

/** The cluster's identity as a data dir records it: its member list. */
export function clusterId(opts: Pick<NodeOptions, "peers">): string {
  return opts.peers.map((p) => p.address).join(",");
}

export async function openNodeStorage(
  opts: Pick<NodeOptions, "peers" | "id" | "dataDir" | "wal" | "engine" | "diskDelayMs">,
): Promise<Storage> {
  const dir = await openDataDir(opts.dataDir, { clusterId: clusterId(opts), nodeId: opts.id });
  if (opts.wal === "lmdb" && opts.engine === "lmdb") {
    return openLmdbStorage({ dir: await dir.sub("lmdb"), syncDelayMs: opts.diskDelayMs });
  }
  const wal = await openWal(opts.wal, { dir: await dir.sub("wal"), syncDelayMs: opts.diskDelayMs });
  let engine: Awaited<ReturnType<typeof openEngine>>;
  try {
    engine = await openEngine(opts.engine, { dir: await dir.sub("engine") });
  } catch (err) {
    await wal.close();
    throw err;
  }
  const storage = split(wal, engine);
  await reconcile(storage, dir.path);
  return storage;
}
