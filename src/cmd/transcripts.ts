#!/usr/bin/env node
// rafttoy-transcripts: runs the datadriven transcripts under src/raft/testdata and prints a
// diff for every block whose output differs (exit 1), or with --rewrite writes the actual
// output into the files (exit 0), to be reviewed with `git diff`. Exit 2 on bad flags.
import { runTranscript, transcriptFiles } from "../raft/scenario/transcripts.js";

const USAGE = "usage: rafttoy-transcripts [--rewrite] [FILE.txt ...]";

function main(args: readonly string[]): number {
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(
      `${USAGE}\n\nRuns src/raft/testdata/*.txt (or the files named); prints a diff per differing\n` +
        "block and exits 1, or with --rewrite writes the actual output back and exits 0.\n",
    );
    return 0;
  }
  const rewrite = args.includes("--rewrite");
  const names = args.filter((a) => a !== "--rewrite");
  const bad = names.find((a) => a.startsWith("-"));
  const known = transcriptFiles();
  const unknown = names.find((n) => !known.includes(n));
  if (bad !== undefined || unknown !== undefined) {
    process.stderr.write(
      `rafttoy-transcripts: unknown ${bad !== undefined ? `flag ${bad}` : `file ${unknown}`} (${USAGE})\n`,
    );
    return 2;
  }
  let differing = 0;
  for (const name of names.length > 0 ? names : known) {
    const outcome = runTranscript(name, rewrite);
    if (outcome.rewritten) process.stdout.write(`rewrote src/raft/testdata/${name}\n`);
    else if (!rewrite && outcome.mismatches.length > 0) {
      differing++;
      process.stdout.write(`${outcome.mismatches.join("\n\n")}\n\n`);
    }
  }
  if (!rewrite) {
    process.stdout.write(
      differing === 0 ? "transcripts: all match\n" : `transcripts: ${differing} file(s) differ\n`,
    );
  }
  return differing === 0 ? 0 : 1;
}

process.exitCode = main(process.argv.slice(2));
