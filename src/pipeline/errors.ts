// The pipelines' coded errors and their invariant.
import { type Invariant, invariantOf, RafttoyError } from "../errors/errors.js";

export type PipelineErrorCode =
  /** A pipeline name no registry knows. */
  "unknown-pipeline";

export class PipelineError extends RafttoyError<PipelineErrorCode> {}

/** Throws "pipeline invariant violated: ..." when a pipeline's own ordering breaks. */
export const invariant: Invariant = invariantOf("pipeline");
