// A line diff for transcript mismatches: lines only in the expected output start with
// "- ", lines only in the actual output with "+ ", shared lines with "  " (longest common
// subsequence; transcript blocks are a few hundred lines at most). Runs of shared lines
// longer than twice CONTEXT are cut to CONTEXT lines on each side of a change.
const CONTEXT = 3;

export function diffLines(expected: readonly string[], actual: readonly string[]): string[] {
  const n = expected.length;
  const m = actual.length;
  // lcs[i][j]: length of the longest common subsequence of expected[i..] and actual[j..].
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] =
        expected[i] === actual[j]
          ? lcs[i + 1]![j + 1]! + 1
          : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && expected[i] === actual[j]) {
      out.push(`  ${expected[i++]}`);
      j++;
    } else if (j < m && (i === n || lcs[i]![j + 1]! > lcs[i + 1]![j]!)) {
      out.push(`+ ${actual[j++]}`);
    } else {
      out.push(`- ${expected[i++]}`);
    }
  }
  return elideSharedRuns(out);
}

function elideSharedRuns(lines: string[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  const flush = (atStart: boolean, atEnd: boolean): void => {
    const keepHead = atStart ? 0 : CONTEXT;
    const keepTail = atEnd ? 0 : CONTEXT;
    if (run.length > keepHead + keepTail + 1) {
      out.push(...run.slice(0, keepHead), `  ... (${run.length - keepHead - keepTail} same lines)`);
      out.push(...run.slice(run.length - keepTail));
    } else {
      out.push(...run);
    }
    run = [];
  };
  for (const line of lines) {
    if (line.startsWith("  ")) {
      run.push(line);
      continue;
    }
    flush(out.length === 0, false);
    out.push(line);
  }
  flush(out.length === 0, true);
  return out;
}
