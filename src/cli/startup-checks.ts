// Checks that need the file system or the resolver, made before a binary opens anything, so
// that a mistake costs one line at start instead of a failure at the end of a long sweep:
// the peers' host names (two names for one address are one peer), the data dir, the --json
// target.
import { lookup } from "node:dns/promises";
import { constants } from "node:fs";
import { access, open, rm, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { PeerAddress } from "../node/options.js";
import { USAGE_EXIT_CODE, UsageError } from "./args.js";

type Lookup = (host: string) => Promise<string[]>;

const systemLookup: Lookup = async (host) =>
  (await lookup(host, { all: true })).map((a) => a.address.toLowerCase());

/**
 * Resolves every peer's host and refuses two entries that reach the same address and port
 * (`localhost:7501` and `127.0.0.1:7501`), or a host that does not resolve.
 */
export async function checkPeerAddresses(
  peers: readonly PeerAddress[],
  resolveHost: Lookup = systemLookup,
): Promise<void> {
  const owner = new Map<string, PeerAddress>();
  for (const p of peers) {
    let addresses: string[];
    try {
      addresses = await resolveHost(p.host);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new UsageError(
        `--peers entry ${p.id} ${p.address}: host ${JSON.stringify(p.host)} does not resolve (${code}): fix the name or give an IP address`,
        "bad-value",
      );
    }
    for (const a of addresses) {
      const key = `${a}|${p.port}`;
      const earlier = owner.get(key);
      if (earlier !== undefined && earlier.id !== p.id) {
        throw new UsageError(
          `--peers entries ${earlier.id} (${earlier.address}) and ${p.id} (${p.address}) are the same address ${a}:${p.port}: give each member its own host:port`,
          "bad-value",
        );
      }
      owner.set(key, p);
    }
  }
}

/** A data dir that exists must be a directory (a missing one is created later). */
export async function checkDataDir(dir: string): Promise<void> {
  const abs = resolve(dir);
  let isDir: boolean;
  try {
    isDir = (await stat(abs)).isDirectory();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
    if ((err as NodeJS.ErrnoException).code === "ENOTDIR") {
      throw new UsageError(
        `--data-dir ${abs}: a parent of it is a regular file, not a directory: pass another --data-dir`,
        "bad-path",
      );
    }
    throw err;
  }
  if (!isDir) {
    throw new UsageError(
      `--data-dir ${abs} is a regular file, not a directory: remove it or pass another --data-dir`,
      "bad-path",
    );
  }
}

/**
 * The --json target must be a file the leader can write: not a directory, in a directory
 * that exists or can be made, writable. Probed by creating (and removing) the temporary file
 * the report writer itself uses beside the target.
 */
export async function checkJsonTarget(path: string): Promise<void> {
  const abs = resolve(path);
  if (path.endsWith("/")) {
    throw new UsageError(
      `--json ${path} names a directory: give a file, e.g. ${path}results.json`,
      "bad-path",
    );
  }
  try {
    if ((await stat(abs)).isDirectory()) {
      throw new UsageError(
        `--json ${abs} is a directory: give a file in it, e.g. --json ${abs}/results.json`,
        "bad-path",
      );
    }
  } catch (err) {
    if (err instanceof UsageError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOTDIR") {
      throw new UsageError(
        `--json ${abs}: a parent of it is a regular file: give another path`,
        "bad-path",
      );
    }
    if (code !== "ENOENT") throw err;
  }
  // The directory is made by the writer; here only its nearest existing ancestor must be a
  // directory (mkdir with `recursive` is not used: on some file systems it never returns).
  let parent = dirname(abs);
  for (;;) {
    try {
      if (!(await stat(parent)).isDirectory()) {
        throw new UsageError(
          `--json ${abs}: ${parent} is a regular file: give another path`,
          "bad-path",
        );
      }
      break;
    } catch (err) {
      if (err instanceof UsageError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTDIR") {
        throw new UsageError(
          `--json ${abs}: a parent of it is a regular file: give another path`,
          "bad-path",
        );
      }
      if (code !== "ENOENT" || dirname(parent) === parent) throw err;
      parent = dirname(parent);
    }
  }
  if (parent !== dirname(abs)) {
    try {
      await access(parent, constants.W_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new UsageError(
        `--json ${abs}: cannot create its directory in ${parent} (${code})`,
        "bad-path",
      );
    }
    return;
  }
  // The directory exists: create (and remove) the temporary file the writer itself uses.
  const probe = `${abs}.${process.pid}.tmp`;
  try {
    const fh = await open(probe, "w");
    await fh.close();
    await rm(probe, { force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new UsageError(
      `--json ${abs} cannot be written (${code}): give a path in a writable directory`,
      "bad-path",
    );
  }
}

/** Runs the checks for a binary; bad input ends the process with one line and exit 2. */
export async function checkBeforeStart(
  program: string,
  opts: { peers: readonly PeerAddress[]; dataDir: string; json?: string | undefined },
  io: { stderr(text: string): void; exit(code: number): never } = {
    stderr: (t) => process.stderr.write(t),
    exit: (c) => process.exit(c),
  },
): Promise<void> {
  try {
    await checkPeerAddresses(opts.peers);
    await checkDataDir(opts.dataDir);
    if (opts.json !== undefined) await checkJsonTarget(opts.json);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${program}: ${err.message}\n`);
    io.exit(USAGE_EXIT_CODE);
  }
}
