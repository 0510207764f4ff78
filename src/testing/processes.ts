// Child processes of the rafttoy binaries for end-to-end tests. Compiled tests (dist/) run
// the compiled binaries beside them; tests run from the sources through tsx run the sources.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePorts } from "../transport/free-ports.js";

export type Binary = "rafttoy-follower" | "rafttoy-leader" | "local-cluster";

/** The command (node and its arguments) that runs `binary`. */
export function binaryCommand(binary: Binary): string[] {
  const compiled = fileURLToPath(new URL(`../cmd/${binary}.js`, import.meta.url));
  if (existsSync(compiled)) return [process.execPath, compiled];
  const source = fileURLToPath(new URL(`../cmd/${binary}.ts`, import.meta.url));
  return [process.execPath, "--import", "tsx", source];
}

export interface RunningProcess {
  child: ChildProcess;
  /** Everything written to stdout and stderr so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (128 + n for a signal). */
  exited: Promise<number>;
  /** Resolves once stderr or stdout has a line matching `re`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export function startBinary(binary: Binary, args: readonly string[]): RunningProcess {
  const [cmd, ...pre] = binaryCommand(binary);
  const child = spawn(cmd!, [...pre, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const watchers: { re: RegExp; resolve: () => void }[] = [];
  const check = () => {
    for (let i = watchers.length - 1; i >= 0; i--) {
      if (watchers[i]!.re.test(out) || watchers[i]!.re.test(err)) {
        watchers[i]!.resolve();
        watchers.splice(i, 1);
      }
    }
  };
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    check();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
    check();
  });
  const exited = new Promise<number>((resolve) => {
    child.once("exit", (code, signal) =>
      resolve(code ?? 128 + (SIGNAL_NUMBERS[signal ?? ""] ?? 0)),
    );
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: (re, timeoutMs = 20_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${re} from ${binary}:\n${err}${out}`)),
          timeoutMs,
        );
        watchers.push({
          re,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        check();
        void exited.then(() => {
          // Output may still be in flight when the process exits; look once more after it.
          setImmediate(() => {
            check();
            if (watchers.some((w) => w.re === re)) {
              clearTimeout(timer);
              reject(new Error(`${binary} exited before printing ${re}:\n${err}${out}`));
            }
          });
        });
      }),
  };
}

/** Stops a process with SIGTERM (SIGKILL after `graceMs`); resolves with its exit code. */
export async function stopProcess(p: RunningProcess, graceMs = 5000): Promise<number> {
  if (p.child.exitCode === null && p.child.signalCode === null) {
    p.child.kill("SIGTERM");
    const timer = setTimeout(() => p.child.kill("SIGKILL"), graceMs);
    const code = await p.exited;
    clearTimeout(timer);
    return code;
  }
  return p.exited;
}

/** `n` loopback addresses on free ports, as --peers wants them. */
export async function loopbackPeers(n: number): Promise<string[]> {
  return (await freePorts(n)).map((p) => `127.0.0.1:${p}`);
}

/**
 * Peer `id` of `peers` as `binary`, its data in `dir`/node-<id>; `args` follow the
 * --peers, --id and --data-dir every node gets.
 */
export function startNode(
  binary: "rafttoy-follower" | "rafttoy-leader",
  peers: readonly string[],
  id: number,
  dir: string,
  args: readonly string[],
): RunningProcess {
  return startBinary(binary, [
    "--peers",
    peers.join(","),
    "--id",
    String(id),
    "--data-dir",
    join(dir, `node-${id}`),
    ...args,
  ]);
}

/** A follower binary as peer `id` (see startNode). */
export function startFollower(
  peers: readonly string[],
  id: number,
  dir: string,
  args: readonly string[],
): RunningProcess {
  return startNode("rafttoy-follower", peers, id, dir, args);
}

/** The leader binary as peer 1 (see startNode). */
export function startLeader(
  peers: readonly string[],
  dir: string,
  args: readonly string[],
): RunningProcess {
  return startNode("rafttoy-leader", peers, 1, dir, args);
}

/** Starts the followers and waits until they listen, so the leader's first attempts land. */
export async function startFollowers(
  peers: readonly string[],
  ids: readonly number[],
  dir: string,
  args: readonly string[],
): Promise<RunningProcess[]> {
  const started = ids.map((id) => startFollower(peers, id, dir, args));
  try {
    await Promise.all(started.map((f) => f.waitFor(/serving on/)));
  } catch (err) {
    await Promise.all(started.map((f) => stopProcess(f)));
    throw err;
  }
  return started;
}
