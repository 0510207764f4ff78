// What the benchmark leader runs with: a node's options plus the session's (which cases,
// how long, how often, open or closed loop, where the results go).
import type { NodeOptions } from "../node/options.js";
import type { Benchtime } from "./benchtime.js";
import type { KeySpec } from "./keys.js";

export interface LeaderOptions extends NodeOptions {
  bench: RegExp;
  benchtime: Benchtime;
  count: number;
  /** Open-loop proposals per second; 0 runs the closed loop. */
  maxrate: number;
  /** Where to write the JSON results, if anywhere. */
  json: string | undefined;
  /** Exit 0 even when proposals were dropped or timed out. */
  allowDrops: boolean;
  /** Which key each proposal writes. */
  keys: KeySpec;
  /** After the closed-loop cases, open-loop steps from 10 % to 120 % of their capacity. */
  sweep: boolean;
}
