// Finds the project's proto/ folder from this module's location, which differs between
// running the TypeScript sources (src/transport) and the compiled output (dist/src/transport).
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { TransportError } from "./errors.js";

let cached: string | undefined;

/** Absolute path of the folder holding raft.proto and transport.proto. */
export function protoDir(): string {
  if (cached !== undefined) return cached;
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "proto", "transport.proto"))) {
      cached = join(dir, "proto");
      return cached;
    }
    if (dirname(dir) === dir) {
      throw new TransportError(
        "proto-missing",
        `proto/transport.proto not found in any parent of ${start}: run from a rafttoy checkout`,
      );
    }
  }
}

export const TRANSPORT_PROTO = "transport.proto";
