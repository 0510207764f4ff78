// A node's data directory: created when missing, checked for writability, locked against a
// second process, and stamped with the identity of the node that owns it, so that one node
// never opens another node's (or another cluster's) log by mistake.
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { LOCK_FILE, lockDir } from "./dir-lock.js";
import { DataDirError } from "./errors.js";
import { makeDirs } from "./make-dir.js";

const IDENTITY_FILE = "rafttoy-identity.json";

export interface NodeIdentity {
  clusterId: string;
  nodeId: number;
}

export interface DataDir {
  readonly path: string;
  /** A subdirectory for one component (created on demand). */
  sub(name: string): Promise<string>;
  /** Unlocks the dir for other processes (also done when this process exits). */
  release(): Promise<void>;
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? (err instanceof Error ? err.message : String(err));
}

async function readIdentity(file: string): Promise<NodeIdentity | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  const parsed = JSON.parse(text) as Partial<NodeIdentity>;
  if (typeof parsed.clusterId !== "string" || !Number.isSafeInteger(parsed.nodeId)) {
    throw new DataDirError(
      "damaged-identity",
      `${file} is damaged: remove the data dir or pass another --data-dir`,
    );
  }
  return { clusterId: parsed.clusterId, nodeId: parsed.nodeId! };
}

/** Files of our own that do not make a dir "not empty". */
function isBookkeeping(name: string): boolean {
  return name.startsWith(".write-probe-") || name.startsWith(LOCK_FILE);
}

/**
 * Opens `dir` for node `id.nodeId` of cluster `id.clusterId` and locks it for this process.
 * Errors name the path and what to do: a dir that cannot be created or written, one in use
 * by another running process, one stamped for another node or cluster, or one that already
 * holds files that are not rafttoy's.
 */
export async function openDataDir(dir: string, id: NodeIdentity): Promise<DataDir> {
  const abs = path.resolve(dir);
  try {
    await makeDirs(abs);
    const probe = path.join(abs, `.write-probe-${process.pid}`);
    await fs.writeFile(probe, "");
    await fs.rm(probe);
  } catch (err) {
    throw new DataDirError(
      "not-writable",
      `data dir ${abs} is not writable (${describe(err)}): fix its permissions or pass another --data-dir`,
    );
  }
  const lock = await lockDir(abs);
  try {
    await checkIdentity(abs, id);
  } catch (err) {
    await lock.release();
    throw err;
  }
  return {
    path: abs,
    async sub(name: string): Promise<string> {
      const p = path.join(abs, name);
      await makeDirs(p);
      return p;
    },
    release: () => lock.release(),
  };
}

/** Stamps an empty dir with `id`, or checks that the stamp found is `id`. */
async function checkIdentity(abs: string, id: NodeIdentity): Promise<void> {
  const file = path.join(abs, IDENTITY_FILE);
  const found = await readIdentity(file);
  if (found === undefined) {
    const others = (await fs.readdir(abs)).filter((n) => !isBookkeeping(n));
    if (others.length > 0) {
      throw new DataDirError(
        "foreign-files",
        `data dir ${abs} is not empty and holds no rafttoy node (found ${others.slice(0, 3).join(", ")}): ` +
          "pass an empty or new --data-dir",
      );
    }
    const tmp = `${file}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(id));
    await fs.rename(tmp, file);
  } else if (found.clusterId !== id.clusterId || found.nodeId !== id.nodeId) {
    throw new DataDirError(
      "other-node",
      `data dir ${abs} holds node ${found.nodeId} of cluster "${found.clusterId}", not node ` +
        `${id.nodeId} of cluster "${id.clusterId}": remove it or pass another --data-dir`,
    );
  }
}
