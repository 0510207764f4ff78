// The benchmark matrix and `--bench` selection.
//
// Rule: the candidate names are built from the default lists (conc 1, 4, 16, 64, 256, 1024;
// bytes 256) plus every value the regex spells out literally as `conc=N`, `bytes=N`, or an
// alternation `conc=(N|M)` / `bytes=(N|M)`; every candidate the regex matches (unanchored, like
// Go's -bench) runs, in order of conc and then bytes. So `conc=512/bytes=1024` runs exactly
// that case, `bytes=1024` runs the default conc sweep at 1,024 bytes, and `conc=1/` runs only
// conc=1 (an unanchored `conc=1` also matches conc=16 and conc=1024).
//
// With an open-loop rate (--maxrate R) there are no workers: the names are `maxrate=R/bytes=N`
// for each candidate bytes value, and the regex is matched against those.

export const DEFAULT_CONCS: readonly number[] = [1, 4, 16, 64, 256, 1024];
export const DEFAULT_BYTES: readonly number[] = [256];

export interface BenchCase {
  /** "conc=64/bytes=256" or "maxrate=50000/bytes=256": what --bench is matched against. */
  name: string;
  bytes: number;
  /** Closed-loop workers; undefined for an open-loop case. */
  conc?: number;
  /** Open-loop proposals per second; undefined for a closed-loop case. */
  maxrate?: number;
}

/** Whole numbers the regex source spells out after `key=`, alone or as an alternation. */
export function literalValues(source: string, key: string): number[] {
  const values: number[] = [];
  const re = new RegExp(`${key}=\\(?(\\d+(?:\\|\\d+)*)`, "g");
  for (const match of source.matchAll(re)) {
    for (const digits of match[1]!.split("|")) values.push(Number(digits));
  }
  return values;
}

function candidateValues(defaults: readonly number[], source: string, key: string): number[] {
  const all = new Set([...defaults, ...literalValues(source, key).filter((v) => v > 0)]);
  return [...all].sort((a, b) => a - b);
}

/** Every candidate case, before selection by the regex. */
export function candidateCases(pattern: RegExp, maxrate = 0): BenchCase[] {
  const bytesList = candidateValues(DEFAULT_BYTES, pattern.source, "bytes");
  if (maxrate > 0) {
    return bytesList.map((bytes) => ({
      name: `maxrate=${maxrate}/bytes=${bytes}`,
      bytes,
      maxrate,
    }));
  }
  const cases: BenchCase[] = [];
  for (const conc of candidateValues(DEFAULT_CONCS, pattern.source, "conc")) {
    for (const bytes of bytesList) cases.push({ name: `conc=${conc}/bytes=${bytes}`, bytes, conc });
  }
  return cases;
}

/** The cases `--bench` selects, in run order; empty when it matches none. */
export function selectCases(pattern: RegExp, maxrate = 0): BenchCase[] {
  // A global or sticky regex carries lastIndex between test() calls; match with a fresh one.
  const matcher = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ""));
  return candidateCases(pattern, maxrate).filter((c) => matcher.test(c.name));
}

/** The regex as the user wrote it: RegExp.source escapes "/", which means the same unescaped. */
export function patternText(pattern: RegExp): string {
  return pattern.source.replaceAll("\\/", "/");
}
