// The engine registry: every kind by name, so a new engine is one file and one entry (the
// same shape as the pipeline, transport and WAL registries). The lmdb one is imported only
// when opened, so the mem engine never loads lmdb's native module.
import { Registry } from "../../units/registry.js";
import { EngineError } from "../errors.js";
import type { Engine } from "./engine.js";
import { MemEngine } from "./mem-engine.js";

export interface OpenEngineOptions {
  /** Where a durable engine keeps its files; unused by mem. */
  dir: string;
}

export interface EngineSpec {
  name: string;
  description: string;
  open(opts: OpenEngineOptions): Promise<Engine>;
}

const registry = new Registry<EngineSpec>(
  [
    {
      name: "mem",
      description: "a map in memory, nothing survives a restart",
      open: async () => new MemEngine(),
    },
    {
      name: "lmdb",
      description:
        "the applied state in memory, written back to an lmdb database when the log needs it, and 30 s after a change at the latest: hard state, membership and applied state survive",
      open: async (opts) => {
        const { openLmdbEngine } = await import("./lmdb-engine.js");
        return openLmdbEngine({ dir: opts.dir });
      },
    },
  ],
  (name, names) =>
    new EngineError(
      "unknown-engine",
      `unknown engine "${name}": choose one of ${names.join(", ")}`,
    ),
);

/** Every engine name, in registry order. */
export const engineKinds: readonly string[] = registry.names;

export async function openEngine(kind: string, opts: OpenEngineOptions): Promise<Engine> {
  return registry.get(kind).open(opts);
}
