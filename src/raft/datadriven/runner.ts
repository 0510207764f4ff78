// Runs a datadriven file: every block's command goes to the handler registered under its
// name, whose printed lines are compared with the block's expected output. A mismatch
// fails with a diff of each differing block; with `rewrite` the file is written back with
// the actual output instead (commands and comments unchanged), for review in `git diff`.

import { diffLines } from "./diff.js";
import { type Block, type Command, formatFile, parseFile } from "./parse.js";

/** What a handler gets: its command, and a way to print output lines. */
export interface CommandContext<State> {
  command: Command;
  state: State;
  print(line: string): void;
}

export type Handler<State> = (ctx: CommandContext<State>) => void;

export type Handlers<State> = Readonly<Record<string, Handler<State>>>;

export interface RunResult {
  /** The file as it would be rewritten (equal to the input when nothing differs). */
  rewritten: string;
  /** One entry per differing block: its command and a diff of expected against actual. */
  mismatches: string[];
}

export class UnknownCommandError extends Error {}

/**
 * Runs the file's blocks in order on one state made by `init`. A handler that throws is a
 * failure of the command (its message becomes the block's output prefixed by "error: "),
 * so a transcript can also record refusals.
 */
export function runDatadriven<State>(
  file: string,
  text: string,
  init: () => State,
  handlers: Handlers<State>,
): RunResult {
  const { blocks, trailer } = parseFile(text, file);
  const state = init();
  const outputs: string[][] = [];
  const mismatches: string[] = [];
  for (const block of blocks) {
    const actual = runBlock(file, block, state, handlers);
    outputs.push(actual);
    if (!sameLines(actual, block.expected)) {
      mismatches.push(
        `${file}:${block.command.lineNo}: ${block.command.line}\n` +
          diffLines(block.expected, actual).join("\n"),
      );
    }
  }
  return { rewritten: formatFile(blocks, outputs, trailer), mismatches };
}

function runBlock<State>(
  file: string,
  block: Block,
  state: State,
  handlers: Handlers<State>,
): string[] {
  const { command } = block;
  const handler = Object.hasOwn(handlers, command.name) ? handlers[command.name] : undefined;
  if (handler === undefined) {
    const known = Object.keys(handlers).sort().join(", ");
    throw new UnknownCommandError(
      `${file}:${command.lineNo}: unknown command "${command.name}" (known: ${known})`,
    );
  }
  const lines: string[] = [];
  const print = (line: string): void => {
    // A blank line would end the block; an output line never is one.
    for (const l of line.split("\n")) lines.push(l === "" ? "." : l);
  };
  try {
    handler({ command, state, print });
  } catch (e) {
    if (e instanceof UnknownCommandError) throw e;
    print(`error: ${e instanceof Error ? e.message : String(e)}`);
  }
  return lines;
}

function sameLines(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((l, i) => l === b[i]);
}
