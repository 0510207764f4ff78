// The last events of a run, kept in a ring so that a violation can be shown with the steps
// that led to it. Events are stored as small records and only formatted when printed.
import { type Message, messageTypeName } from "../types.js";

export interface TraceEvent {
  step: number;
  node: number;
  what: string;
  msg?: Message;
}

export function formatMessage(m: Message): string {
  let s = `${messageTypeName(m.type)} ${m.from}->${m.to} term=${m.term}`;
  if (m.logTerm !== 0 || m.index !== 0) s += ` logTerm=${m.logTerm} index=${m.index}`;
  if (m.entries.length > 0) {
    s += ` entries=${m.entries[0]!.index}..${m.entries[m.entries.length - 1]!.index}`;
  }
  if (m.commit !== 0) s += ` commit=${m.commit}`;
  if (m.reject) s += ` reject hint=${m.rejectHint}`;
  if (m.snapshot !== undefined && m.snapshot.metadata.index !== 0) {
    s += ` snapshot=${m.snapshot.metadata.index}@${m.snapshot.metadata.term}`;
  }
  return s;
}

export function formatEvent(e: TraceEvent): string {
  const node = e.node === 0 ? "" : ` n${e.node}`;
  const msg = e.msg === undefined ? "" : ` ${formatMessage(e.msg)}`;
  return `step ${e.step}${node}: ${e.what}${msg}`;
}

export class TraceRing {
  private readonly ring: (TraceEvent | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<TraceEvent | undefined>(capacity);
  }

  add(e: TraceEvent): void {
    if (this.capacity === 0) return;
    this.ring[this.next] = e;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The kept events, oldest first, formatted. */
  lines(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.capacity; i++) {
      const e = this.ring[(this.next + i) % this.capacity];
      if (e !== undefined) out.push(formatEvent(e));
    }
    return out;
  }
}
