// The WAL registry: every kind by name, so a new log is one file and one entry (the same
// shape as the pipeline and transport registries). The lmdb one is imported only when
// opened, so the mem and file logs never load its native module.

import type { Logger } from "../../raft/api.js";
import { Registry } from "../../units/registry.js";
import { WalError } from "../errors.js";
import { openFileWal } from "./file-wal.js";
import { MemWal } from "./mem-wal.js";
import type { Wal } from "./wal.js";

export interface OpenWalOptions {
  dir: string;
  /** Milliseconds added after each durable sync (`--disk-delay`), never blocking the loop. */
  syncDelayMs?: number;
  logger?: Logger;
}

export interface WalSpec {
  name: string;
  description: string;
  open(opts: OpenWalOptions): Promise<Wal>;
}

const registry = new Registry<WalSpec>(
  [
    {
      name: "mem",
      description: "in memory, nothing survives a restart",
      open: async (opts) => new MemWal({ syncDelayMs: opts.syncDelayMs }),
    },
    {
      name: "file",
      description: "segment files, fdatasync per group of appends on an I/O thread",
      open: (opts) =>
        openFileWal({ dir: opts.dir, logger: opts.logger, syncDelayMs: opts.syncDelayMs }),
    },
    {
      name: "lmdb",
      description: "an lmdb database, one durable commit per group of appends",
      open: async (opts) => {
        const { openLmdbWal } = await import("./lmdb-wal.js");
        return openLmdbWal({ dir: opts.dir, logger: opts.logger, syncDelayMs: opts.syncDelayMs });
      },
    },
  ],
  (name, names) =>
    new WalError("unknown-wal", `unknown wal "${name}": choose one of ${names.join(", ")}`),
);

/** Every WAL name, in registry order. */
export const walKinds: readonly string[] = registry.names;

export async function openWal(kind: string, opts: OpenWalOptions): Promise<Wal> {
  return registry.get(kind).open(opts);
}
