// One-way link latency from transport-level pings: each sample is half a ping's round trip
// (ping and pong both pass through --net-delay like data, so the samples see the dialled
// delay). Keeps the most recent samples of every link of one transport together; the
// median of those is TransportStats.oneWayP50Ns.

/** How often each link is pinged. */
export const PING_INTERVAL_MS = 100;

/** Samples kept: at one ping per 100 ms per link, a few seconds of history. */
const KEPT = 64;

export class LinkLatency {
  private readonly samples = new Float64Array(KEPT);
  private count = 0;
  private next = 0;

  /** Records the pong of a ping sent at `sentMs` (performance.now()), received at `nowMs`. */
  recordPong(sentMs: number, nowMs: number): void {
    const rttMs = nowMs - sentMs;
    // A clock from another process or a corrupted frame: not a sample.
    if (!(rttMs >= 0) || rttMs > 60_000) return;
    this.samples[this.next] = (rttMs / 2) * 1e6;
    this.next = (this.next + 1) % KEPT;
    if (this.count < KEPT) this.count++;
  }

  /** Median one-way latency in ns over the kept samples; undefined before the first. */
  p50Ns(): number | undefined {
    if (this.count === 0) return undefined;
    const sorted = this.samples.slice(0, this.count).sort();
    const mid = this.count >> 1;
    const median = this.count % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return Math.round(median);
  }
}
