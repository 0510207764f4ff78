// Which faults a run injects, parsed from the --faults flag.

export const FAULT_KINDS = ["drop", "dup", "reorder", "partition", "crash", "compact"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export type FaultSet = ReadonlySet<FaultKind>;

function isFaultKind(s: string): s is FaultKind {
  return (FAULT_KINDS as readonly string[]).includes(s);
}

/** Parses `none`, `all` or a comma list; throws an Error whose message is one line. */
export function parseFaults(spec: string): FaultSet {
  const text = spec.trim();
  if (text === "none") return new Set();
  if (text === "all") return new Set(FAULT_KINDS);
  const out = new Set<FaultKind>();
  for (const part of text.split(",")) {
    const kind = part.trim();
    if (!isFaultKind(kind)) {
      throw new Error(
        `--faults: unknown fault "${kind}"; use none, all, or a comma list of ${FAULT_KINDS.join(",")}`,
      );
    }
    out.add(kind);
  }
  return out;
}

/** The canonical flag value for a fault set (inverse of parseFaults). */
export function formatFaults(faults: FaultSet): string {
  if (faults.size === 0) return "none";
  if (faults.size === FAULT_KINDS.length) return "all";
  return FAULT_KINDS.filter((k) => faults.has(k)).join(",");
}
