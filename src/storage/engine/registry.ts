// The engine registry: every kind by name, so a new engine is one file and one entry (the
// same shape as the pipeline, transport and WAL registries). The lmdb one is imported only
// when opened, so the mem engine never loads lmdb's native module.
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

const specs: readonly EngineSpec[] = [
  {
    name: "mem",
    description: "a map in memory, nothing survives a restart",
    open: async () => new MemEngine(),
  },
  {
    name: "lmdb",
    description: "an lmdb database: hard state, membership and applied state survive",
    open: async (opts) => {
      const { openLmdbEngine } = await import("./lmdb-engine.js");
      return openLmdbEngine({ dir: opts.dir });
    },
  },
];

/** Every engine name, in registry order. */
export const engineKinds: readonly string[] = specs.map((s) => s.name);

/** The spec registered under `name`; an unknown name throws, listing the names that exist. */
export function engineSpec(name: string): EngineSpec {
  const spec = specs.find((s) => s.name === name);
  if (spec === undefined) {
    throw new EngineError(
      "unknown-engine",
      `unknown engine "${name}": choose one of ${engineKinds.join(", ")}`,
    );
  }
  return spec;
}

export async function openEngine(kind: string, opts: OpenEngineOptions): Promise<Engine> {
  return engineSpec(kind).open(opts);
}
