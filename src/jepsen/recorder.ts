// The run's history, appended one event per line as it happens (rafttoy-check's event
// shape), so a run that dies leaves everything up to that moment: an invocation without its
// completion reads as indeterminate. Also kept in memory for the checker and the report.
import { closeSync, openSync, writeSync } from "node:fs";
import type { KvInput, KvOutput, Operation, Status } from "../check/history.js";
import { numberByInvocation } from "../check/history.js";

export interface Recorded {
  process: number;
  key: string;
  input: KvInput;
  invoke: number;
  status?: Status;
  output?: KvOutput;
  complete?: number;
}

export class HistoryRecorder {
  private readonly fd: number | undefined;
  private readonly ops: Recorded[] = [];
  private readonly origin = performance.now();

  /** `path`: the JSON-lines file to append to (none: memory only). */
  constructor(path?: string) {
    this.fd = path === undefined ? undefined : openSync(path, "w");
  }

  /** Microseconds since the recorder started, on the one clock every client shares. */
  now(): number {
    return Math.round((performance.now() - this.origin) * 1000);
  }

  invoke(process: number, key: string, input: KvInput): number {
    const id = this.ops.length;
    const op: Recorded = { process, key, input, invoke: this.now() };
    this.ops.push(op);
    this.write({ id, event: "invoke", process, key, ...input, time: op.invoke });
    return id;
  }

  complete(id: number, status: Status, output?: KvOutput): void {
    const op = this.ops[id];
    if (op === undefined || op.status !== undefined)
      throw new Error(`recorder: op ${id} completed twice`);
    op.status = status;
    op.complete = this.now();
    if (status === "ok") op.output = output;
    this.write({ id, event: status, time: op.complete, ...(status === "ok" ? { output } : {}) });
  }

  /** Everything recorded so far, in the checker's form (unfinished ones indeterminate). */
  history(): Operation[] {
    return numberByInvocation(
      this.ops.map((op) => ({
        process: op.process,
        key: op.key,
        input: op.input,
        output: op.status === "ok" ? op.output : undefined,
        status: op.status ?? "info",
        invoke: op.invoke,
        complete:
          op.status === "ok" || op.status === "fail"
            ? (op.complete as number)
            : Number.POSITIVE_INFINITY,
      })),
    );
  }

  /** The raw records (the report's availability and recovery figures read them). */
  records(): readonly Recorded[] {
    return this.ops;
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }

  private write(line: Record<string, unknown>): void {
    if (this.fd !== undefined) writeSync(this.fd, `${JSON.stringify(line)}\n`);
  }
}
