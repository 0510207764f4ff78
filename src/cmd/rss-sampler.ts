// The local-cluster launcher's view of memory: every 10 s it reads /proc/<pid>/status of
// the leader and both followers and prints one line, and at the end it hands back each
// process's samples, peak (the kernel's VmHWM) and last reading for the results JSON.
import type { RssByProcess, RssSample } from "../bench/rss-report.js";
import { formatMiB, type Rss, readRss } from "../metrics/rss.js";

export interface SampledProcess {
  name: string;
  pid: number;
}

export class RssSampler {
  private readonly started = performance.now();
  private readonly result: RssByProcess = {};
  /** Each process with its entry in `result` and that entry's samples, found once. */
  private readonly tracked: {
    process: SampledProcess;
    entry: RssByProcess[string];
    samples: RssSample[];
  }[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    processes: readonly SampledProcess[],
    private readonly out: (line: string) => void,
    private readonly everyMs = 10_000,
  ) {
    this.tracked = processes.map((process) => {
      const samples: RssSample[] = [];
      const entry = { pid: process.pid, samples };
      this.result[process.name] = entry;
      return { process, entry, samples };
    });
  }

  start(): void {
    this.timer = setInterval(() => this.sample(true), this.everyMs);
    this.timer.unref();
  }

  /** Takes a last reading of the processes still running and returns everything. */
  stop(): RssByProcess {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.sample(false);
    return this.result;
  }

  private sample(print: boolean): void {
    const atS = Math.round((performance.now() - this.started) / 100) / 10;
    const parts: string[] = [];
    for (const { process: p, entry, samples } of this.tracked) {
      const rss: Rss | undefined = readRss(p.pid);
      if (rss === undefined) continue;
      samples.push({ atS, rssBytes: rss.rssBytes });
      entry.rssBytes = rss.rssBytes;
      entry.maxRssBytes = rss.maxRssBytes;
      parts.push(`${p.name} ${formatMiB(rss.rssBytes)}`);
    }
    if (print && parts.length > 0) this.out(`local-cluster: rss at ${atS} s: ${parts.join(", ")}`);
  }
}
