// A partition switch for fault runs (rafttoy-jepsen): while a peer is cut off, every Raft
// message to it is dropped before it reaches the wire and every batch from it is dropped
// before the node sees it, until healed. It wraps any transport at its Transport edge, so
// grpc, tcp and local behave alike, and a node started without it runs the bare transport:
// nothing is checked when the switch is off because nothing is installed.
//
// The links themselves stay up (transport pings still flow): a partition here loses every
// message, as a network that drops packets does, without closing connections.
import type { Message } from "../raft/types.js";
import type { Epoch, InboundBatch, Transport, TransportStats } from "./transport.js";

export class FaultSwitch {
  private cut: ReadonlySet<number> = new Set();
  private droppedOut = 0;
  private droppedIn = 0;

  /** Cuts this node off from exactly `peers` (replacing any earlier cut); [] heals. */
  partition(peers: Iterable<number>): void {
    this.cut = new Set(peers);
  }

  heal(): void {
    this.cut = new Set();
  }

  /** The peers currently cut off, ascending. */
  get isolated(): number[] {
    return [...this.cut].sort((a, b) => a - b);
  }

  blocks(peer: number): boolean {
    return this.cut.has(peer);
  }

  /** Messages dropped by the switch so far, outbound and inbound. */
  get dropped(): { out: number; in: number } {
    return { out: this.droppedOut, in: this.droppedIn };
  }

  /** Of `messages`, those this node may send now; the rest are counted as dropped. */
  passOut(messages: readonly Message[]): readonly Message[] {
    if (this.cut.size === 0) return messages;
    const kept = messages.filter((m) => !this.cut.has(m.to));
    this.droppedOut += messages.length - kept.length;
    return kept;
  }

  /** Whether an inbound batch may reach the node (counted as dropped if not). */
  passIn(batch: InboundBatch): boolean {
    if (!this.cut.has(batch.from)) return true;
    this.droppedIn += batch.messages.length;
    return false;
  }
}

/** `inner` behind `faults`: what the switch cuts off is dropped in both directions. */
export function withFaultSwitch(inner: Transport, faults: FaultSwitch): Transport {
  return {
    start: (onBatch: (batch: InboundBatch) => void) =>
      inner.start((batch) => {
        if (faults.passIn(batch)) onBatch(batch);
      }),
    send(epoch: Epoch, messages: readonly Message[]): void {
      const kept = faults.passOut(messages);
      if (kept.length > 0) inner.send(epoch, kept);
    },
    onUnreachable: (handler) => inner.onUnreachable(handler),
    // A cut link keeps its connection: only a real one breaking is passed on.
    onDisconnected: (handler) => inner.onDisconnected?.(handler),
    stats(): TransportStats {
      const stats = inner.stats();
      const { out, in: inbound } = faults.dropped;
      return { ...stats, dropped: stats.dropped + out + inbound };
    },
    stop: () => inner.stop(),
  };
}
