// Run by data-dir.test.ts in a child process: opens a data dir and prints one JSON line
// (its pid, and the error if the open failed). With `hold`, keeps the dir open until its
// stdin closes, then exits normally. Usage: data-dir-child <open|hold> <dir>
import { openDataDir } from "../storage/data-dir.js";

export interface DataDirChildReport {
  pid: number;
  error?: string;
}

async function main(): Promise<void> {
  const [mode, dir] = process.argv.slice(2);
  if ((mode !== "open" && mode !== "hold") || dir === undefined) {
    throw new Error("usage: data-dir-child <open|hold> <dir>");
  }
  const report: DataDirChildReport = { pid: process.pid };
  try {
    await openDataDir(dir, { clusterId: "c1", nodeId: 1 });
  } catch (err) {
    report.error = err instanceof Error ? err.message : String(err);
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
  if (mode === "hold" && report.error === undefined) {
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.once("end", resolve));
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
