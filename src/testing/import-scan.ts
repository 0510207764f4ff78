// The import check: reads every .ts file under a src/ folder, finds its relative imports
// (static, re-exports, dynamic) and reports each arrow that breaks the layer order of
// layers.ts and each import cycle. Run as a program it checks this checkout's src/ and
// exits 1 on any finding (`make imports`).
import { readdirSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join, normalize, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { CORE_FOLDER, isTest, KNOWN_CYCLES, LAYERS } from "./layers.js";

export interface ImportArrow {
  /** Both paths relative to src/, with "/". */
  from: string;
  to: string;
  line: number;
}

export interface ScanResult {
  files: number;
  arrows: ImportArrow[];
  /** Arrows that go up the order, sideways between sibling folders, or into the core's tools. */
  violations: { arrow: ImportArrow; reason: string }[];
  /** Each cycle not in KNOWN_CYCLES, as the files on it, the first repeated at the end. */
  cycles: string[][];
  /** KNOWN_CYCLES entries that no longer exist: remove them from the list. */
  staleKnownCycles: string[][];
}

// A statement starts a line: `import ... from "x"`, `export ... from "x"`, `import "x"`.
// [^;] lets a statement span lines (a long import list) up to its semicolon.
const STATIC =
  /^[ \t]*(?:import|export)\b([^;]*?)\bfrom\s*["']([^"']+)["']|^[ \t]*import\s*["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

function listTs(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts")) out.push(path);
    }
  };
  walk(root);
  return out.sort();
}

function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/** The relative imports of one file, resolved to paths relative to src/ (".js" read as ".ts"). */
export function importsOf(srcRoot: string, file: string, text: string): ImportArrow[] {
  const from = relative(srcRoot, file).split(sep).join("/");
  const arrows: ImportArrow[] = [];
  const add = (specifier: string, index: number): void => {
    if (!specifier.startsWith(".")) return;
    const target = normalize(join(dirname(file), specifier)).replace(/\.js$/, ".ts");
    arrows.push({
      from,
      to: relative(srcRoot, target).split(sep).join("/"),
      line: lineOf(text, index),
    });
  };
  for (const m of text.matchAll(STATIC)) add((m[2] ?? m[3])!, m.index);
  for (const m of text.matchAll(DYNAMIC)) add(m[1]!, m.index);
  return arrows;
}

function rankOf(folder: string): number | undefined {
  const rank = LAYERS.findIndex((layer) => layer.includes(folder));
  return rank < 0 ? undefined : rank;
}

/** Why an arrow breaks the order, or undefined when it may stand. */
export function violation(arrow: ImportArrow): string | undefined {
  if (isTest(arrow.from)) return undefined;
  if (isTest(arrow.to)) return "product code imports a test";
  const [fromFolder, ...fromRest] = arrow.from.split("/");
  const [toFolder, ...toRest] = arrow.to.split("/");
  if (fromFolder === undefined || toFolder === undefined) return undefined;
  if (fromFolder === toFolder) {
    // The core's own files stay below its tools (sim/, scenario/, datadriven/).
    if (fromFolder === CORE_FOLDER && fromRest.length === 1 && toRest.length > 1) {
      return `the core (src/${CORE_FOLDER}/*.ts) imports its tool src/${arrow.to}`;
    }
    return undefined;
  }
  const fromRank = rankOf(fromFolder);
  const toRank = rankOf(toFolder);
  if (fromRank === undefined) return `src/${fromFolder}/ is in no layer: add it to layers.ts`;
  if (toRank === undefined) return `src/${toFolder}/ is in no layer: add it to layers.ts`;
  if (toRank > fromRank)
    return `upward: ${fromFolder} (layer ${fromRank}) imports ${toFolder} (layer ${toRank})`;
  if (toRank === fromRank)
    return `sideways: ${fromFolder} and ${toFolder} are siblings in layer ${fromRank}`;
  return undefined;
}

/** Every cycle among the files (Tarjan's strongly connected components, one cycle each). */
export function findCycles(arrows: readonly ImportArrow[]): string[][] {
  const next = new Map<string, string[]>();
  for (const a of arrows) {
    if (!next.has(a.from)) next.set(a.from, []);
    next.get(a.from)!.push(a.to);
  }
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let counter = 0;
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        component.push(w);
      } while (w !== v);
      const selfLoop = (next.get(v) ?? []).includes(v);
      if (component.length > 1 || selfLoop) components.push(component);
    }
  };
  for (const v of [...next.keys()].sort()) if (!index.has(v)) visit(v);
  // One concrete cycle per component, for a readable message: a shortest path back to its start.
  return components.map((component) => {
    const members = new Set(component);
    const start = [...component].sort()[0]!;
    const previous = new Map<string, string>();
    const queue = [start];
    for (let i = 0; i < queue.length; i++) {
      const v = queue[i]!;
      for (const w of next.get(v) ?? []) {
        if (!members.has(w)) continue;
        if (w === start) {
          const path = [start];
          for (let at = v; at !== start; at = previous.get(at)!) path.splice(1, 0, at);
          return [...path, start];
        }
        if (!previous.has(w)) {
          previous.set(w, v);
          queue.push(w);
        }
      }
    }
    return [start, start];
  });
}

/** Checks every .ts file under `srcRoot`. */
export function scanImports(srcRoot: string): ScanResult {
  const files = listTs(srcRoot);
  const arrows = files.flatMap((f) => importsOf(srcRoot, f, readFileSync(f, "utf8")));
  const violations = arrows.flatMap((arrow) => {
    const reason = violation(arrow);
    return reason === undefined ? [] : [{ arrow, reason }];
  });
  const all = findCycles(arrows);
  const key = (files: readonly string[]): string => [...new Set(files)].sort().join(" ");
  const known = new Set(KNOWN_CYCLES.map((c) => key(c.files)));
  const found = new Set(all.map(key));
  return {
    files: files.length,
    arrows,
    violations,
    cycles: all.filter((c) => !known.has(key(c))),
    staleKnownCycles: KNOWN_CYCLES.filter((c) => !found.has(key(c.files))).map((c) => [...c.files]),
  };
}

/** How many findings fail the check. */
export function failures(result: ScanResult): number {
  return result.violations.length + result.cycles.length + result.staleKnownCycles.length;
}

/** The check's report: one line per finding, then a summary line. */
export function formatScan(result: ScanResult): string[] {
  const lines = result.violations.map(
    ({ arrow, reason }) => `src/${arrow.from}:${arrow.line} imports src/${arrow.to}: ${reason}`,
  );
  for (const cycle of result.cycles)
    lines.push(`cycle: ${cycle.map((f) => `src/${f}`).join(" -> ")}`);
  for (const files of result.staleKnownCycles) {
    lines.push(`known cycle gone: ${files.join(", ")}: remove it from KNOWN_CYCLES in layers.ts`);
  }
  const layers = LAYERS.map((l) => l.join("|")).join(" < ");
  lines.push(
    `imports: ${result.files} files, ${result.arrows.length} relative imports; ` +
      `${result.violations.length} against the order, ${result.cycles.length} cycles ` +
      `(${KNOWN_CYCLES.length} known, listed in layers.ts); order: ${layers}`,
  );
  return lines;
}

/** This checkout's src/, found from this file (src/testing/ or dist/src/testing/). */
export function sourceRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const underDist = here.split(sep).includes("dist");
  return join(here, underDist ? "../../../src" : "..");
}

if (
  process.argv[1] !== undefined &&
  realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)
) {
  const result = scanImports(sourceRoot());
  for (const line of formatScan(result)) process.stdout.write(`${line}\n`);
  process.exitCode = failures(result) > 0 ? 1 : 0;
}
