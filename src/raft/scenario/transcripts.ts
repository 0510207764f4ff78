// Running the transcript files under src/raft/testdata: each through the datadriven runner
// with the commands of commands.ts. Shared by the test (which fails on a mismatch) and
// `rafttoy-transcripts --rewrite` (src/cmd/transcripts.ts), which writes the actual output
// back for review with `git diff`.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { runDatadriven } from "../datadriven/runner.js";
import { TranscriptState, transcriptCommands } from "./commands.js";

/** The sources' testdata folder, from src/raft/scenario/ or its compiled dist/ twin. */
export function transcriptDir(): string {
  const up = resolve(fileURLToPath(new URL("../../../", import.meta.url)));
  const root = basename(up) === "dist" ? dirname(up) : up;
  return join(root, "src", "raft", "testdata");
}

export function transcriptFiles(dir = transcriptDir()): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort();
}

export interface TranscriptOutcome {
  name: string;
  /** One entry per differing block, with a diff; empty when the file matches. */
  mismatches: string[];
  /** Whether the file was written back (rewrite mode, something differed). */
  rewritten: boolean;
}

/** Runs one transcript file; with `rewrite`, writes the actual output into it. */
export function runTranscript(
  name: string,
  rewrite: boolean,
  dir = transcriptDir(),
): TranscriptOutcome {
  const file = join(dir, name);
  const text = readFileSync(file, "utf8");
  const result = runDatadriven(
    `src/raft/testdata/${name}`,
    text,
    () => new TranscriptState(),
    transcriptCommands,
  );
  const changed = result.rewritten !== text;
  if (rewrite && changed) writeFileSync(file, result.rewritten);
  return { name, mismatches: result.mismatches, rewritten: rewrite && changed };
}
