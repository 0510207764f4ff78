// Every component a node can be built from, by kind: the names each registry knows and the
// default of each. A front-end offers exactly these choices (the binaries' --pipeline, --wal,
// --engine, --transport); a new pipeline, WAL, engine or transport registers in its own
// folder's registry.ts and appears here without another line.
import { pipelineKinds } from "../pipeline/registry.js";
import { engineKinds } from "../storage/engine/registry.js";
import { walKinds } from "../storage/wal/registry.js";
import { processTransportKinds } from "../transport/registry.js";

/** The names a component option accepts (from the component's registry) and its default. */
export interface ComponentChoice {
  names: readonly string[];
  default: string;
}

export interface ComponentRegistries {
  pipeline: ComponentChoice;
  wal: ComponentChoice;
  engine: ComponentChoice;
  transport: ComponentChoice;
}

/** The pipeline a node runs unless told otherwise. */
export const DEFAULT_PIPELINE = "parallel-append";
/** Durable and embedded: the file WAL (fdatasync) beside the lmdb engine. */
export const DEFAULT_WAL = "file";
export const DEFAULT_ENGINE = "lmdb";
/** The design names gRPC between the processes. */
export const DEFAULT_TRANSPORT = "grpc";

export const componentRegistries: ComponentRegistries = {
  pipeline: { names: pipelineKinds, default: DEFAULT_PIPELINE },
  wal: { names: walKinds, default: DEFAULT_WAL },
  engine: { names: engineKinds, default: DEFAULT_ENGINE },
  transport: { names: processTransportKinds, default: DEFAULT_TRANSPORT },
};

/**
 * The key-value service's nodes talk raw TCP unless told otherwise: it cost less CPU per
 * SET than gRPC on the leader and on the followers (docs/decisions.md). The benchmark
 * binaries keep gRPC, which the design names.
 */
export const KV_DEFAULT_TRANSPORT = "tcp";

/** rafttoy-kv's choices: the same components, its own default transport. */
export const kvComponentRegistries: ComponentRegistries = {
  ...componentRegistries,
  transport: { names: processTransportKinds, default: KV_DEFAULT_TRANSPORT },
};
