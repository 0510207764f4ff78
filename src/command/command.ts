// The command-line toolkit every binary and benchmark shares: one way to declare flags
// (yargs options), one --help generated from those declarations (so it lists exactly what
// is parsed), one usage error (a UsageError, printed as "<name>: <what to change>" on one
// line, exit status 2). It sits low in the layer order so that the benchmarks, the checker
// and the report can use it as well as src/cli/ and src/cmd/.
import yargs, { type Argv } from "yargs";
import { USAGE_EXIT_CODE, UsageError } from "../errors/errors.js";

/** Where a command writes; injectable for tests. */
export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: CommandIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** The parsed flags, by their dashed names. */
export type Raw = Record<string, unknown>;

export interface CommandSpec<T> {
  /** The program's name: the head of --help and of every usage error. */
  name: string;
  /** The synopsis ("$0" is the name), a blank line, then what the command does. */
  usage: string;
  /** Text after the flags in --help. */
  epilog?: string;
  /** Declares the flags (yargs .option calls); --help and -h are added. */
  flags(y: Argv): Argv;
  /** How many words beside the flags it takes; default none (a stray word is refused). */
  words?: { min: number; max: number; what: string };
  /** Reads the parsed flags and words into the command's options; throws UsageError. */
  read(raw: Raw, words: readonly string[]): T;
}

/** What a command line asked for: the help text, or options to run with. */
export type Parsed<T> = { help: string } | { options: T };

/**
 * The yargs parser every command is built on: an unknown flag is an error (stray words are
 * parseCommand's to judge), no --version, dashed names only, failures as one-line UsageErrors.
 */
export function commandParser(name: string, usage: string, argv: readonly string[]): Argv {
  return commandSettings(yargs().scriptName(name).usage(usage), argv);
}

/** The settings of commandParser, for a parser built elsewhere (`argv`: its command line). */
export function commandSettings<T>(y: Argv<T>, argv: readonly string[]): Argv<T> {
  return y
    .strictOptions()
    .exitProcess(false)
    .version(false)
    .help("help")
    .alias("help", "h")
    .wrap(100)
    .parserConfiguration({ "camel-case-expansion": false })
    .fail((message: string | null, error: Error | undefined) => {
      throw new UsageError(explainFailure(message ?? error?.message ?? "invalid arguments", argv));
    });
}

/** yargs' own failure message, made to say what to change. */
export function explainFailure(message: string, argv: readonly string[]): string {
  const unknown = /^Unknown arguments?: (.*)$/.exec(message);
  if (unknown) {
    // yargs names flags and stray words alike ("bogus"); the command line tells them apart.
    const list = unknown[1]!
      .split(", ")
      .map((a) =>
        argv.includes(a)
          ? `argument ${JSON.stringify(a)}`
          : a.length === 1
            ? `flag -${a}`
            : `flag --${a}`,
      );
    return `unknown ${list.join(", ")}: remove it (run with --help for the flags)`;
  }
  return `${message} (run with --help for the flags)`;
}

/**
 * Runs `y` over `argv`: the help text when --help or -h is given, else the parsed flags.
 * Throws UsageError on anything yargs refuses.
 */
export function parseWith(y: Argv, argv: readonly string[]): { help: string } | { raw: Raw } {
  let help: string | undefined;
  const raw = y.parseSync([...argv], {}, (_error, _argv, output) => {
    if (output !== "") help = output;
  }) as Raw;
  if (help !== undefined || raw.help === true) return { help: help ?? "" };
  return { raw };
}

/** Parses `argv` (without node and the script) by `spec`; throws UsageError. */
export function parseCommand<T>(spec: CommandSpec<T>, argv: readonly string[]): Parsed<T> {
  const y = spec.flags(commandParser(spec.name, spec.usage, argv));
  const parsed = parseWith(spec.epilog !== undefined ? y.epilog(spec.epilog) : y, argv);
  if ("help" in parsed) return parsed;
  const words = (parsed.raw._ as unknown[]).map(String);
  const allowed = spec.words ?? { min: 0, max: 0, what: "" };
  if (words.length > allowed.max) {
    const stray = words[allowed.max]!;
    throw new UsageError(
      allowed.max === 0
        ? `unknown argument ${JSON.stringify(stray)}: remove it (run with --help for the flags)`
        : `too many arguments (${words.length}): give at most ${allowed.max} ${allowed.what}`,
    );
  }
  if (words.length < allowed.min) {
    throw new UsageError(`missing ${allowed.what} (run with --help for the usage)`);
  }
  return { options: spec.read(parsed.raw, words) };
}

/**
 * The whole life of a command: parse, print --help (exit 0) or a usage error (one line,
 * exit 2), else run. A UsageError the run itself throws is reported the same way.
 * Resolves to the exit status.
 */
export async function runCommand<T>(
  spec: CommandSpec<T>,
  argv: readonly string[],
  run: (options: T) => Promise<number | undefined> | number | undefined,
  io: CommandIo = processIo,
): Promise<number> {
  try {
    const parsed = parseCommand(spec, argv);
    if ("help" in parsed) {
      io.stdout(`${parsed.help}\n`);
      return 0;
    }
    return (await run(parsed.options)) ?? 0;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${spec.name}: ${error.message.split("\n")[0]}\n`);
    return USAGE_EXIT_CODE;
  }
}

/** The value of a string flag, refusing repeats and an empty value. */
export function text(raw: Raw, flag: string): string | undefined {
  const value = raw[flag];
  if (Array.isArray(value))
    throw new UsageError(`--${flag} is given ${value.length} times: give it once`);
  if (value === undefined) return undefined;
  const s = String(value);
  if (s.trim() === "") throw new UsageError(`--${flag} needs a value`);
  return s;
}

/** The value of a boolean flag, refusing repeats (yargs would make them an array). */
export function flag(raw: Raw, name: string): boolean {
  const value = raw[name];
  if (Array.isArray(value))
    throw new UsageError(`--${name} is given ${value.length} times: give it once`);
  return value === true;
}

/** The flag's value as a whole number in min..max (an empty value is refused too). */
export function intInRange(flag: string, value: unknown, min: number, max: number): number {
  const s = String(value);
  const n = Number(s);
  if (s.trim() === "" || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${flag} must be an integer in ${min}..${max}, got "${s}"`);
  }
  return n;
}

/** A string flag's whole-number value in min..max, or `fallback` when it is not given. */
export function intFlag(
  raw: Raw,
  name: string,
  min: number,
  max: number,
  fallback: number,
): number {
  const value = text(raw, name);
  return value === undefined ? fallback : intInRange(name, value, min, max);
}

/** A comma-separated list of positive whole numbers ("1,64"); undefined when not given. */
export function positiveIntList(raw: Raw, name: string): number[] | undefined {
  const value = text(raw, name);
  return value?.split(",").map((s) => {
    const n = Number(s);
    if (s.trim() === "" || !Number.isSafeInteger(n) || n <= 0) {
      throw new UsageError(
        `--${name}: "${s}" is not a positive whole number (e.g. --${name} 1,64)`,
      );
    }
    return n;
  });
}

/** A comma-separated list of names from `choices`; undefined when not given. */
export function choiceList<N extends string>(
  raw: Raw,
  name: string,
  what: string,
  choices: readonly N[],
): N[] | undefined {
  const value = text(raw, name);
  return value?.split(",").map((s) => {
    if (!(choices as readonly string[]).includes(s)) {
      throw new UsageError(`--${name}: unknown ${what} "${s}": choose from ${choices.join(", ")}`);
    }
    return s as N;
  });
}

/**
 * parseCommand for a script whose options are module-level state: prints --help and exits
 * 0, or prints the usage error (one line) and exits 2; else returns the options.
 */
export function parseOrExit<T>(
  spec: CommandSpec<T>,
  argv: readonly string[],
  io: CommandIo = processIo,
): T {
  try {
    const parsed = parseCommand(spec, argv);
    if ("options" in parsed) return parsed.options;
    io.stdout(`${parsed.help}\n`);
    return process.exit(0);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`${spec.name}: ${error.message.split("\n")[0]}\n`);
    return process.exit(USAGE_EXIT_CODE);
  }
}
