// A fault of the node's storage environment rather than a bug: a full disk, a failed
// write, damaged files. Its message is the whole report (one line: which path, what
// happened, what to do), so binaries print it without a stack trace and exit with
// STORAGE_FAULT_EXIT_CODE, the code they use for input the user has to change.
import { RafttoyError } from "../errors/errors.js";
import { WalError } from "./errors.js";

export const STORAGE_FAULT_EXIT_CODE = 2;

export type StorageFaultCode =
  /** No space left (ENOSPC, EDQUOT), or not enough for a preallocated segment. */
  | "disk-full"
  /** A write or sync failed for another reason (EIO, ...). */
  | "io-failed"
  /** A file's own checks fail before it is even opened. */
  | "damaged";

export class StorageFault extends RafttoyError<StorageFaultCode> {
  readonly exitCode = STORAGE_FAULT_EXIT_CODE;
  /** The errno code of the system call that failed, if one did. */
  readonly errno: string | undefined;

  constructor(
    code: StorageFaultCode,
    message: string,
    options?: { errno?: string | undefined; cause?: unknown },
  ) {
    super(code, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.errno = options?.errno;
  }
}

export function isStorageFault(err: unknown): err is StorageFault {
  return err instanceof StorageFault;
}

/** The errno code of a failed system call: Node's own error, or one of ours carrying it. */
export function errnoCode(err: unknown): string | undefined {
  if (err instanceof WalError || err instanceof StorageFault) return err.errno;
  if (err instanceof RafttoyError) return undefined;
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
