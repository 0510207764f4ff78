// A fault of the node's storage environment rather than a bug: a full disk, a failed
// write, damaged files. Its message is the whole report (one line: which path, what
// happened, what to do), so binaries print it without a stack trace and exit with
// STORAGE_FAULT_EXIT_CODE, the code they use for input the user has to change.
export const STORAGE_FAULT_EXIT_CODE = 2;

export class StorageFault extends Error {
  override readonly name = "StorageFault";
  readonly exitCode = STORAGE_FAULT_EXIT_CODE;
}

export function isStorageFault(err: unknown): err is StorageFault {
  return err instanceof StorageFault;
}

/** The errno code of a failed system call, if `err` is one. */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === "object" && err !== null && "code" in err ? String(err.code) : undefined;
}

/** Bytes as the user would write them: 64 MiB, 3.5 GiB, 512 KiB. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}
