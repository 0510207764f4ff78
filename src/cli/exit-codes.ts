// How a rafttoy binary's exit status reads, for scripts that run sweeps unattended.

/** The run failed: it could not lead, lost quorum, a node failed. */
export const EXIT_FAILED = 1;
/** Every run finished, but proposals were dropped or timed out (and --allow-drops was not given). */
export const EXIT_DROPPED = 3;

/** The end of a session: the line to print about lost proposals (if any) and the exit code. */
export function dropsVerdict(
  dropped: { total: number; failures: Record<string, number> },
  allowDrops: boolean,
): { code: number; line: string | undefined } {
  if (dropped.total === 0) return { code: 0, line: undefined };
  const reasons = Object.entries(dropped.failures)
    .sort((a, b) => b[1] - a[1])
    .map(([reason, n]) => `${n} ${reason}`)
    .join("; ");
  return allowDrops
    ? {
        code: 0,
        line: `${dropped.total} proposals dropped or timed out (${reasons}); accepted by --allow-drops`,
      }
    : {
        code: EXIT_DROPPED,
        line: `${dropped.total} proposals dropped or timed out (${reasons}): exit status ${EXIT_DROPPED} (--allow-drops accepts them)`,
      };
}
