// The pipeline registry: every variant by name, so a new ordering is one file and one line.
import { Registry } from "../units/registry.js";
import { AsyncApplyPipeline } from "./async-apply.js";
import { AsyncStoragePipeline } from "./async-storage.js";
import { BasicPipeline } from "./basic.js";
import { PipelineError } from "./errors.js";
import { ParallelAppendPipeline } from "./parallel-append.js";
import type { PipelineSpec } from "./pipeline.js";

const registry = new Registry<PipelineSpec>(
  [
    {
      name: "basic",
      description: "persist, send, apply, acknowledge, advance, in that order",
      asyncStorageWrites: false,
      create: (host) => new BasicPipeline(host),
    },
    {
      name: "parallel-append",
      description: "MsgApps leave before the local append; everything else after it",
      asyncStorageWrites: false,
      create: (host) => new ParallelAppendPipeline(host, false),
    },
    {
      name: "parallel-append-early-ack",
      description: "parallel-append, proposals acknowledged once committed, before apply",
      asyncStorageWrites: false,
      create: (host) => new ParallelAppendPipeline(host, true),
    },
    {
      name: "async-apply",
      description: "parallel-append, committed entries applied by a background applier",
      asyncStorageWrites: false,
      create: (host) => new AsyncApplyPipeline(host, { earlyAck: false, lazyFollower: false }),
    },
    {
      name: "async-apply-early-ack",
      description: "async-apply, proposals acknowledged once committed",
      asyncStorageWrites: false,
      create: (host) => new AsyncApplyPipeline(host, { earlyAck: true, lazyFollower: false }),
    },
    {
      name: "async-apply-early-ack-lazy-follower",
      description: "async-apply-early-ack, followers apply only membership changes",
      asyncStorageWrites: false,
      lazyFollowers: true,
      create: (host) => new AsyncApplyPipeline(host, { earlyAck: true, lazyFollower: true }),
    },
    {
      name: "async-storage",
      description: "the core's asynchronous storage writes: append and apply workers, group commit",
      asyncStorageWrites: true,
      create: (host) => new AsyncStoragePipeline(host),
    },
  ],
  (name, names) =>
    new PipelineError(
      "unknown-pipeline",
      `unknown pipeline "${name}": use one of ${names.join(", ")}`,
    ),
);

/** Every pipeline name, in registry order. */
export const pipelineKinds: readonly string[] = registry.names;

/** The spec registered under `name`; an unknown name throws, listing the names that exist. */
export function pipelineSpec(name: string): PipelineSpec {
  return registry.get(name);
}
