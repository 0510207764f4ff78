// The datadriven file format (as etcd/raft's testdata/*.txt): a file is a sequence of
// blocks, each a command line, a `----` separator and the output the command is expected
// to print, ended by a blank line or the end of the file. Lines starting with `#` between
// blocks are comments and survive a rewrite.
//
//   # a comment
//   propose 1 "x"
//   ----
//   > 1 handling Ready
//   ...
//
// A command line is a name and arguments: bare words and numbers (`1`), quoted strings
// (`"x y"`), and key=value pairs whose value may be a parenthesised list (`voters=(1,2,3)`).

export interface CommandArg {
  /** For key=value arguments, the key; for positional ones, undefined. */
  key?: string;
  /** The value, or the list's items for `key=(a,b)`. */
  values: string[];
}

export interface Command {
  name: string;
  args: CommandArg[];
  /** The command line as written, for error messages and rewrites. */
  line: string;
  /** 1-based line number of the command in its file. */
  lineNo: number;
}

export interface Block {
  /** Comment lines (and blank lines between them) before the command, kept verbatim. */
  preamble: string[];
  command: Command;
  /** Expected output lines (empty: the command prints nothing). */
  expected: string[];
}

export const SEPARATOR = "----";

export class DatadrivenSyntaxError extends Error {}

/** Splits a command line into its name and arguments. */
export function parseCommandLine(line: string, lineNo: number, file: string): Command {
  const tokens: string[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new DatadrivenSyntaxError(`${file}:${lineNo}: ${why}: ${line}`);
  };
  while (i < line.length) {
    if (line[i] === " " || line[i] === "\t") {
      i++;
      continue;
    }
    let tok = "";
    while (i < line.length && line[i] !== " " && line[i] !== "\t") {
      const ch = line[i]!;
      if (ch === '"') {
        const end = line.indexOf('"', i + 1);
        if (end < 0) fail("unterminated string");
        tok += line.slice(i, end + 1);
        i = end + 1;
      } else if (ch === "(") {
        const end = line.indexOf(")", i + 1);
        if (end < 0) fail("unterminated list");
        tok += line.slice(i, end + 1);
        i = end + 1;
      } else {
        tok += ch;
        i++;
      }
    }
    tokens.push(tok);
  }
  if (tokens.length === 0) fail("empty command");
  const [name, ...rest] = tokens as [string, ...string[]];
  const args = rest.map((tok): CommandArg => {
    const eq = tok.startsWith('"') ? -1 : tok.indexOf("=");
    if (eq < 0) return { values: [unquote(tok)] };
    const key = tok.slice(0, eq);
    const value = tok.slice(eq + 1);
    if (value.startsWith("(") && value.endsWith(")")) {
      const inner = value.slice(1, -1).trim();
      const values = inner === "" ? [] : inner.split(",").map((v) => unquote(v.trim()));
      return { key, values };
    }
    return { key, values: [unquote(value)] };
  });
  return { name, args, line, lineNo };
}

function unquote(s: string): string {
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

/** Parses a whole file. Trailing comments (after the last block) are returned apart. */
export function parseFile(text: string, file: string): { blocks: Block[]; trailer: string[] } {
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  const blocks: Block[] = [];
  let preamble: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === "" || line.startsWith("#")) {
      preamble.push(line);
      i++;
      continue;
    }
    const command = parseCommandLine(line, i + 1, file);
    i++;
    if (lines[i] !== SEPARATOR) {
      throw new DatadrivenSyntaxError(`${file}:${i + 1}: expected "${SEPARATOR}" after: ${line}`);
    }
    i++;
    const expected: string[] = [];
    while (i < lines.length && lines[i] !== "") expected.push(lines[i++]!);
    if (i < lines.length) i++; // the blank line that ends the block
    blocks.push({ preamble, command, expected });
    preamble = [];
  }
  return { blocks, trailer: preamble };
}

/** Writes blocks back with the given outputs (a rewrite keeps commands and comments). */
export function formatFile(blocks: Block[], outputs: string[][], trailer: string[]): string {
  const out: string[] = [];
  blocks.forEach((b, n) => {
    out.push(...b.preamble, b.command.line, SEPARATOR, ...outputs[n]!);
    if (n < blocks.length - 1 || trailer.length > 0) out.push("");
  });
  out.push(...trailer);
  return `${out.join("\n")}\n`;
}
