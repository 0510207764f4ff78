// Chooses an Engine implementation by name. The lmdb one is imported only when asked for,
// so the mem engine never loads lmdb's native module.
import { EngineError } from "../errors.js";
import type { Engine } from "./engine.js";
import { MemEngine } from "./mem-engine.js";

export const engineKinds = ["mem", "lmdb"] as const;
export type EngineKind = (typeof engineKinds)[number];

export interface OpenEngineOptions {
  /** Where a durable engine keeps its files; unused by mem. */
  dir: string;
}

export async function openEngine(kind: string, opts: OpenEngineOptions): Promise<Engine> {
  switch (kind as EngineKind) {
    case "mem":
      return new MemEngine();
    case "lmdb": {
      const { openLmdbEngine } = await import("./lmdb-engine.js");
      return openLmdbEngine({ dir: opts.dir });
    }
    default:
      throw new EngineError(
        "unknown-engine",
        `unknown engine "${kind}": choose one of ${engineKinds.join(", ")}`,
      );
  }
}

/** Whether an engine of this kind keeps hard state and applied state across a restart. */
export function engineIsDurable(kind: string): boolean {
  return kind === "lmdb";
}
