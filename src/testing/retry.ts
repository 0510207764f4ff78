// Test support: retry an async check until it stops throwing, for process tests whose
// clusters take a while (elections, restarts, a loaded machine) to reach a state.

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Calls `f` until it resolves (every 50 ms); after `timeoutMs` its last error, named `what`. */
export async function retryUntil<T>(
  what: string,
  f: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > deadline) {
        throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
      await sleep(50);
    }
  }
}
