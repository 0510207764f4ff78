// TEST SUPPORT: a stand-in key-value state machine for the backend's tests, until the
// engines apply KV commands themselves. It sits in front of a node's PeerStorage: commands
// travel as ordinary benchmark proposals (id = proposal id, key = the command as JSON, empty
// value), so the real WALs and engines carry and apply them unchanged, and it keeps the keys
// they write in memory. Its state does not survive a restart or arrive by snapshot.

import type { PeerStorage } from "../../peer/contracts.js";
import { decodeProposal, encodeProposal } from "../../proposal/proposal.js";
import { type Entry, EntryType } from "../../raft/types.js";
import type { KvReadView, KvResult, KvWrite } from "../contract.js";
import type { MemberAddresses, ProposalId, ServiceStateMachine } from "../state-machine.js";

type Command =
  | { t: "set"; k: string; v: string; c?: "nx" | "xx" }
  | { t: "del"; k: string[] }
  | { t: "incrby"; k: string; by: string }
  | { t: "member"; id: number; a: MemberAddresses };

const latin1 = (b: Uint8Array): string => Buffer.from(b).toString("latin1");
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "latin1"));
const EMPTY = new Uint8Array(0);

function toCommand(w: KvWrite): Command {
  switch (w.op) {
    case "set":
      return w.condition === undefined
        ? { t: "set", k: latin1(w.key), v: latin1(w.value) }
        : { t: "set", k: latin1(w.key), v: latin1(w.value), c: w.condition };
    case "del":
      return { t: "del", k: w.keys.map(latin1) };
    case "incrby":
      return { t: "incrby", k: latin1(w.key), by: w.by.toString() };
    default:
      throw new Error(`the test state machine does not do ${w.op}`);
  }
}

export class MemoryStateMachine implements ServiceStateMachine, PeerStorage {
  readonly description: string;
  private readonly data = new Map<string, string>();
  private readonly memberAddresses = new Map<number, MemberAddresses>();
  private readonly appliedListeners: ((id: ProposalId, index: number, r: KvResult) => void)[] = [];
  private readonly memberListeners: ((id: number, a: MemberAddresses) => void)[] = [];

  constructor(private readonly inner: PeerStorage) {
    this.description = inner.description;
  }

  // ---- ServiceStateMachine --------------------------------------------------------------

  encodeWrite(id: ProposalId, write: KvWrite): Uint8Array {
    return this.encode(id, toCommand(write));
  }

  encodeMember(id: ProposalId, member: number, addresses: MemberAddresses): Uint8Array {
    return this.encode(id, { t: "member", id: member, a: addresses });
  }

  onApplied(listener: (id: ProposalId, index: number, result: KvResult) => void): void {
    this.appliedListeners.push(listener);
  }

  onMember(listener: (member: number, addresses: MemberAddresses) => void): void {
    this.memberListeners.push(listener);
  }

  view(): KvReadView {
    const snapshot = new Map(this.data);
    return {
      get: (k) => {
        const v = snapshot.get(latin1(k));
        return v === undefined ? null : bytes(v);
      },
      exists: (k) => snapshot.has(latin1(k)),
      keys: () => [...snapshot.keys()].sort().map(bytes),
      scanPrefix: (p, limit) =>
        [...snapshot]
          .filter(([k]) => k.startsWith(latin1(p)))
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .slice(0, limit)
          .map(([k, v]) => [bytes(k), bytes(v)]),
      size: () => snapshot.size,
      listLength: () => 0,
    };
  }

  members(): ReadonlyMap<number, MemberAddresses> {
    return this.memberAddresses;
  }

  private encode(id: ProposalId, c: Command): Uint8Array {
    return encodeProposal({ id, key: new TextEncoder().encode(JSON.stringify(c)), value: EMPTY });
  }

  private apply(c: Command): KvResult {
    switch (c.t) {
      case "set": {
        const has = this.data.has(c.k);
        if ((c.c === "nx" && has) || (c.c === "xx" && !has)) return { kind: "not-set" };
        this.data.set(c.k, c.v);
        return { kind: "ok" };
      }
      case "del": {
        let n = 0n;
        for (const k of c.k) if (this.data.delete(k)) n++;
        return { kind: "integer", value: n };
      }
      case "incrby": {
        const old = this.data.get(c.k) ?? "0";
        if (!/^-?\d+$/.test(old)) {
          return { kind: "error", code: "not-integer", message: "value is not an integer" };
        }
        const value = BigInt(old) + BigInt(c.by);
        this.data.set(c.k, value.toString());
        return { kind: "integer", value };
      }
      case "member":
        this.memberAddresses.set(c.id, c.a);
        for (const l of this.memberListeners) l(c.id, c.a);
        return { kind: "ok" };
    }
  }

  // ---- PeerStorage: everything passes through; applied commands are interpreted too ------

  async applyEntries(entries: readonly Entry[]): Promise<void> {
    await this.inner.applyEntries(entries);
    for (const e of entries) {
      if (e.type !== EntryType.Normal || e.data.byteLength === 0) continue;
      const p = decodeProposal(e.data);
      const result = this.apply(JSON.parse(new TextDecoder().decode(p.key)) as Command);
      for (const l of this.appliedListeners) l(p.id, e.index, result);
    }
  }

  lastIndex(): number {
    return this.inner.lastIndex();
  }
  firstIndex(): number {
    return this.inner.firstIndex();
  }
  compact(upTo: number): Promise<void> {
    return this.inner.compact(upTo);
  }
  flushApplied(): Promise<void> {
    return this.inner.flushApplied();
  }
  appliedIndex(): number {
    return this.inner.appliedIndex();
  }
  persist(...args: Parameters<PeerStorage["persist"]>): Promise<void> {
    return this.inner.persist(...args);
  }
  setConfState(...args: Parameters<PeerStorage["setConfState"]>): Promise<void> {
    return this.inner.setConfState(...args);
  }
  logView(): ReturnType<PeerStorage["logView"]> {
    return this.inner.logView();
  }
  reset(): Promise<void> {
    this.data.clear();
    return this.inner.reset();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}
