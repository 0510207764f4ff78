// Opens a node's storage from the --wal / --engine / --data-dir choices. `--wal lmdb
// --engine lmdb` opens the combined lmdb storage: log and hard state of one Ready in one
// transaction, one durable commit per Ready instead of two.
import type { NodeOptions } from "../cli/args.js";
import { openDataDir } from "../storage/data-dir.js";
import { engineKinds, openEngine } from "../storage/engine/registry.js";
import { openLmdbStorage } from "../storage/lmdb-storage.js";
import { reconcile, split } from "../storage/storage.js";
import { openWal, walKinds } from "../storage/wal/registry.js";
import type { PeerStorage } from "./contracts.js";
import { StoragePeerStorage } from "./storage-peer-storage.js";

export const walNames: readonly string[] = walKinds;
export const engineNames: readonly string[] = engineKinds;
/** Durable and embedded: the file WAL (fdatasync) beside the lmdb engine. */
export const DEFAULT_WAL = "file";
export const DEFAULT_ENGINE = "lmdb";

/** The cluster's identity as a data dir records it: its member list. */
export function clusterId(opts: NodeOptions): string {
  return opts.peers.map((p) => p.address).join(",");
}

export async function openPeerStorage(opts: NodeOptions): Promise<PeerStorage> {
  const dir = await openDataDir(opts.dataDir, { clusterId: clusterId(opts), nodeId: opts.id });
  if (opts.wal === "lmdb" && opts.engine === "lmdb") {
    const storage = await openLmdbStorage({
      dir: await dir.sub("lmdb"),
      syncDelayMs: opts.diskDelayMs,
    });
    return new StoragePeerStorage(
      storage,
      `lmdb storage (log and hard state in one transaction; ${storage.wal.syncMode})`,
    );
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
  return new StoragePeerStorage(storage);
}
