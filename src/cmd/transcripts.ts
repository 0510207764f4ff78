#!/usr/bin/env node
// rafttoy-transcripts: runs the datadriven transcripts under src/raft/testdata and prints a
// diff for every block whose output differs (exit 1), or with --rewrite writes the actual
// output into the files (exit 0), to be reviewed with `git diff`. Exit 2 on bad flags.
import { type CommandSpec, flag, runCommand } from "../command/command.js";
import { UsageError } from "../errors/errors.js";
import { runTranscript, transcriptFiles } from "../raft/scenario/transcripts.js";

const TRANSCRIPTS: CommandSpec<{ rewrite: boolean; names: readonly string[] }> = {
  name: "rafttoy-transcripts",
  usage: `$0 [--rewrite] [FILE.txt ...]

Runs src/raft/testdata/*.txt (or the files named); prints a diff per differing block and exits 1, or with --rewrite writes the actual output back and exits 0.`,
  flags: (y) =>
    y.option("rewrite", { type: "boolean", describe: "write the actual output into the files" }),
  words: { min: 0, max: Number.POSITIVE_INFINITY, what: "transcript files" },
  read: (raw, names) => {
    const known = transcriptFiles();
    const unknown = names.find((n) => !known.includes(n));
    if (unknown !== undefined) {
      throw new UsageError(`unknown file ${unknown}: name one of src/raft/testdata/*.txt`);
    }
    return { rewrite: flag(raw, "rewrite"), names: names.length > 0 ? names : known };
  },
};

process.exitCode = await runCommand(TRANSCRIPTS, process.argv.slice(2), ({ rewrite, names }) => {
  let differing = 0;
  for (const name of names) {
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
});
