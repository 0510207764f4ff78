// One status line at the bottom of a terminal, redrawn in place ("\r" + erase line), at most
// every `minIntervalMs`. Switched off entirely when the stream is not a terminal or CI is set:
// a log file or a CI console should get whole lines only, never carriage-return redraws.
// Hand-written rather than a progress-bar package: one line of text is all it draws.

export interface LineStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Whether a live progress line belongs on `stream` in this environment. */
export function wantsProgressLine(stream: LineStream, env: NodeJS.ProcessEnv): boolean {
  return stream.isTTY === true && (env.CI === undefined || env.CI === "" || env.CI === "false");
}

export class ProgressLine {
  private shown = false;
  private lastDrawMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly stream: LineStream,
    readonly enabled: boolean,
    private readonly minIntervalMs = 100,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Redraws the line with `text`, unless the last redraw was too recent. */
  update(text: string): void {
    if (!this.enabled) return;
    const t = this.now();
    if (t - this.lastDrawMs < this.minIntervalMs) return;
    this.lastDrawMs = t;
    // A pseudo-terminal may report 0 columns: then assume the classic 80.
    const width = this.stream.columns || 80;
    const fitted = text.length >= width ? `${text.slice(0, Math.max(0, width - 2))}…` : text;
    this.stream.write(`\r\x1b[K${fitted}`);
    this.shown = true;
  }

  /** Erases the line, so that whole lines can be written where it was. */
  clear(): void {
    if (!this.shown) return;
    this.stream.write("\r\x1b[K");
    this.shown = false;
    // The next update draws at once: the line should come back right after the interruption.
    this.lastDrawMs = Number.NEGATIVE_INFINITY;
  }
}
