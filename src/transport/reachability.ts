// Whether a link's peer is up, as both transports' links log it: the first failure after
// the peer was reachable is logged, later ones are not until it is reachable again (a peer
// down for a minute would otherwise log every retry); every failure is still reported.
import type { TransportLogger as Logger } from "./transport.js";

export class Reachability {
  private reportedDown = false;

  constructor(
    private readonly peerId: number,
    private readonly address: string,
    private readonly logger: Logger,
    private readonly events: {
      unreachable(peerId: number): void;
      disconnected(peerId: number): void;
    },
  ) {}

  /**
   * The connection to the peer broke or could not be made: warn once, report every time,
   * both as unreachable and as disconnected.
   */
  lost(reason: string, retrying: boolean): void {
    if (!this.reportedDown) {
      this.reportedDown = true;
      const retry = retrying ? "; retrying with backoff" : "";
      this.logger.warn(`peer ${this.peerId} at ${this.address} is unreachable (${reason})${retry}`);
    }
    this.events.unreachable(this.peerId);
    this.events.disconnected(this.peerId);
  }

  /** Connected: say so if the peer had been logged as down. */
  reached(): void {
    if (!this.reportedDown) return;
    this.reportedDown = false;
    this.logger.info(`peer ${this.peerId} at ${this.address} is reachable again`);
  }
}
