// A history's operation prepared for the search (check.ts prepares, window.ts cuts).
import type { KvInput, KvOutput, Operation } from "./history.js";
import type { SearchOp } from "./search.js";

/** The search's view of an operation plus the history's operation it came from. */
export interface CheckedOp extends SearchOp<KvInput, KvOutput> {
  source: Operation;
}
