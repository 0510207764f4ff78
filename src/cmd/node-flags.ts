// V8/Node flags for the node processes the launchers start. Some V8 flags that matter for
// the benchmarks (e.g. --heap-growing-percent) are refused in NODE_OPTIONS, so they can only
// reach a child as arguments before its script: RAFTTOY_NODE_FLAGS carries them.

/** The environment variable whose space-separated words go before every child's script. */
export const NODE_FLAGS_ENV = "RAFTTOY_NODE_FLAGS";

/** The flags RAFTTOY_NODE_FLAGS asks for (none when unset or blank). */
export function nodeFlags(env: NodeJS.ProcessEnv): string[] {
  return (env[NODE_FLAGS_ENV] ?? "").split(/\s+/).filter((w) => w !== "");
}

/** A child's argv after the node binary: node flags, then the script, then its own args. */
export function childArgv(
  flags: readonly string[],
  script: string,
  args: readonly string[],
): string[] {
  return [...flags, script, ...args];
}
