// `mkdir -p` that always terminates. Node's own `mkdir(dir, { recursive: true })` reads ENOENT
// as "the parent is missing", creates the parent (EEXIST: fine) and retries the child, forever
// when the parent exists but refuses children with ENOENT, as /proc does: the call spins at
// 100% CPU and never returns. Here each level is created at most twice (before and after its
// parent), so a child that still cannot be created once its parent exists is an error.
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as path from "node:path";

function code(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

function notADirectory(dir: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`ENOTDIR: not a directory, mkdir '${dir}'`);
  err.code = "ENOTDIR";
  err.path = dir;
  return err;
}

/** Creates `dir` and any missing parents; an existing directory is fine. */
export async function makeDirs(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  try {
    await fsp.mkdir(abs);
    return;
  } catch (err) {
    if (code(err) === "EEXIST") {
      if (!(await fsp.stat(abs)).isDirectory()) throw notADirectory(abs);
      return;
    }
    const parent = path.dirname(abs);
    if (code(err) !== "ENOENT" || parent === abs) throw err;
    await makeDirs(parent);
  }
  // The parent exists now: one more attempt, whose failure (even ENOENT) is final.
  try {
    await fsp.mkdir(abs);
  } catch (err) {
    if (code(err) !== "EEXIST") throw err;
    if (!(await fsp.stat(abs)).isDirectory()) throw notADirectory(abs);
  }
}

/** makeDirs for callers that open synchronously. */
export function makeDirsSync(dir: string): void {
  const abs = path.resolve(dir);
  try {
    fs.mkdirSync(abs);
    return;
  } catch (err) {
    if (code(err) === "EEXIST") {
      if (!fs.statSync(abs).isDirectory()) throw notADirectory(abs);
      return;
    }
    const parent = path.dirname(abs);
    if (code(err) !== "ENOENT" || parent === abs) throw err;
    makeDirsSync(parent);
  }
  try {
    fs.mkdirSync(abs);
  } catch (err) {
    if (code(err) !== "EEXIST") throw err;
    if (!fs.statSync(abs).isDirectory()) throw notADirectory(abs);
  }
}
