// Chooses a Wal implementation by name. The lmdb one is imported only when asked for, so
// the mem and file logs never load its native module.
import type { Logger } from "../../raft/api.js";
import { WalError } from "../errors.js";
import { openFileWal } from "./file-wal.js";
import { MemWal } from "./mem-wal.js";
import type { Wal } from "./wal.js";

export const walKinds = ["mem", "file", "lmdb"] as const;
export type WalKind = (typeof walKinds)[number];

export interface OpenWalOptions {
  dir: string;
  /** Milliseconds added after each durable sync (`--disk-delay`), never blocking the loop. */
  syncDelayMs?: number;
  logger?: Logger;
}

export async function openWal(kind: string, opts: OpenWalOptions): Promise<Wal> {
  switch (kind as WalKind) {
    case "mem":
      return new MemWal({ syncDelayMs: opts.syncDelayMs });
    case "file":
      return openFileWal({ dir: opts.dir, logger: opts.logger, syncDelayMs: opts.syncDelayMs });
    case "lmdb": {
      const { openLmdbWal } = await import("./lmdb-wal.js");
      return openLmdbWal({ dir: opts.dir, logger: opts.logger, syncDelayMs: opts.syncDelayMs });
    }
    default:
      throw new WalError(
        "unknown-wal",
        `unknown wal "${kind}": choose one of ${walKinds.join(", ")}`,
      );
  }
}
