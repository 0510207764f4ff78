// TEST SUPPORT: a KvBackend in one process, for the front-ends' tests. It applies writes to a
// plain in-memory state machine with Redis semantics; nothing is replicated. Tests can delay
// commits (to finish them out of order), fail calls with a BackendError, and see every batch
// the front-end handed over.
import {
  BackendError,
  type BackendErrorCode,
  type ClusterInfo,
  type KvBackend,
  type KvReadView,
  type KvResult,
  type KvWrite,
  type ReadMode,
} from "../contract.js";

type Value = { kind: "string"; bytes: Buffer } | { kind: "list"; items: Buffer[] };

const key = (k: Uint8Array): string =>
  Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString("latin1");
const copy = (b: Uint8Array): Buffer => Buffer.from(b);

const MAX_I64 = 9223372036854775807n;
const MIN_I64 = -9223372036854775808n;

/** Redis glob matching over bytes: * ? [abc] [^a-z] and \\ escapes. */
export function globMatches(pattern: Buffer, subject: Buffer): boolean {
  const match = (p: number, s: number): boolean => {
    while (p < pattern.length) {
      const c = pattern[p] as number;
      if (c === 0x2a) {
        while (pattern[p + 1] === 0x2a) p++;
        if (p + 1 === pattern.length) return true;
        for (let i = s; i <= subject.length; i++) if (match(p + 1, i)) return true;
        return false;
      }
      if (s >= subject.length) return false;
      if (c === 0x3f) {
        p++;
        s++;
        continue;
      }
      if (c === 0x5b) {
        let q = p + 1;
        const negate = pattern[q] === 0x5e;
        if (negate) q++;
        let found = false;
        while (q < pattern.length && pattern[q] !== 0x5d) {
          if (pattern[q] === 0x5c && q + 1 < pattern.length) q++;
          const lo = pattern[q] as number;
          if (pattern[q + 1] === 0x2d && q + 2 < pattern.length && pattern[q + 2] !== 0x5d) {
            const hi = pattern[q + 2] as number;
            const x = subject[s] as number;
            if (x >= Math.min(lo, hi) && x <= Math.max(lo, hi)) found = true;
            q += 3;
          } else {
            if (lo === subject[s]) found = true;
            q++;
          }
        }
        if (found === negate) return false;
        p = q + 1;
        s++;
        continue;
      }
      const lit = c === 0x5c && p + 1 < pattern.length ? (pattern[++p] as number) : c;
      if (lit !== subject[s]) return false;
      p++;
      s++;
    }
    return s === subject.length;
  };
  return match(0, 0);
}

/** The state machine: what every node would apply, in order. */
export class MemoryStateMachine implements KvReadView {
  readonly data = new Map<string, Value>();

  apply(w: KvWrite): KvResult {
    switch (w.op) {
      case "set": {
        const exists = this.data.has(key(w.key));
        if ((w.condition === "nx" && exists) || (w.condition === "xx" && !exists)) {
          return { kind: "not-set" };
        }
        this.data.set(key(w.key), { kind: "string", bytes: copy(w.value) });
        return { kind: "ok" };
      }
      case "mset":
        for (const [k, v] of w.pairs) this.data.set(key(k), { kind: "string", bytes: copy(v) });
        return { kind: "ok" };
      case "del": {
        let n = 0n;
        for (const k of w.keys) if (this.data.delete(key(k))) n++;
        return { kind: "integer", value: n };
      }
      case "incrby": {
        const old = this.data.get(key(w.key));
        if (old?.kind === "list") return wrongType();
        let n = 0n;
        if (old !== undefined) {
          const s = old.bytes.toString("latin1");
          if (!/^(0|-?[1-9][0-9]*)$/.test(s)) {
            return { kind: "error", code: "not-integer", message: "not an integer" };
          }
          n = BigInt(s);
        }
        const next = n + w.by;
        if (next > MAX_I64 || next < MIN_I64) {
          return { kind: "error", code: "overflow", message: "would overflow" };
        }
        this.data.set(key(w.key), { kind: "string", bytes: Buffer.from(String(next)) });
        return { kind: "integer", value: next };
      }
      case "push": {
        const k = key(w.key);
        const old = this.data.get(k);
        if (old?.kind === "string") return wrongType();
        const list = old ?? { kind: "list" as const, items: [] };
        for (const v of w.values) {
          if (w.end === "left") list.items.unshift(copy(v));
          else list.items.push(copy(v));
        }
        this.data.set(k, list);
        return { kind: "integer", value: BigInt(list.items.length) };
      }
      case "pop": {
        const k = key(w.key);
        const old = this.data.get(k);
        if (old === undefined) return { kind: "bulk", value: null };
        if (old.kind === "string") return wrongType();
        const v = w.end === "left" ? old.items.shift() : old.items.pop();
        if (old.items.length === 0) this.data.delete(k);
        return { kind: "bulk", value: v ?? null };
      }
    }
  }

  get(k: Uint8Array): Uint8Array | null {
    const v = this.data.get(key(k));
    return v?.kind === "string" ? v.bytes : null;
  }
  exists(k: Uint8Array): boolean {
    return this.data.has(key(k));
  }
  private sortedKeys(): Buffer[] {
    return [...this.data.keys()].map((s) => Buffer.from(s, "latin1")).sort(Buffer.compare);
  }
  keys(pattern: Uint8Array): Uint8Array[] {
    const p = copy(pattern);
    return this.sortedKeys().filter((k) => globMatches(p, k));
  }
  scanPrefix(prefix: Uint8Array, limit: number): [Uint8Array, Uint8Array][] {
    const p = copy(prefix);
    const out: [Uint8Array, Uint8Array][] = [];
    for (const k of this.sortedKeys()) {
      if (out.length >= limit) break;
      if (k.length < p.length || !k.subarray(0, p.length).equals(p)) continue;
      const v = this.data.get(key(k));
      if (v?.kind === "string") out.push([k, v.bytes]);
    }
    return out;
  }
  size(): number {
    return this.data.size;
  }
  listLength(k: Uint8Array): number | null {
    const v = this.data.get(key(k));
    if (v === undefined) return 0;
    return v.kind === "list" ? v.items.length : null;
  }
}

function wrongType(): KvResult {
  return { kind: "error", code: "wrong-type", message: "wrong kind of value" };
}

export interface MemoryBackendOptions {
  /** Milliseconds before the n-th batch (from 0) applies; default: the next macrotask. */
  commitDelayMs?: (batch: number) => number;
}

export class MemoryBackend implements KvBackend {
  readonly state = new MemoryStateMachine();
  /** Every batch handed over, in order: its number of writes. */
  readonly batches: number[] = [];
  readonly reads: ReadMode[] = [];
  /** When set, every call fails with this. */
  failWith: BackendError | null = null;
  private applyQueue: Promise<void> = Promise.resolve();
  private index = 0;
  members: ClusterInfo["members"] = [{ id: 1, raft: "127.0.0.1:1", role: "voter" }];
  healthyNow = true;

  constructor(private readonly options: MemoryBackendOptions = {}) {}

  /** Makes every call fail with a BackendError of `code` (null: succeed again). */
  fail(code: BackendErrorCode | null, leader?: { id: number; resp?: string; http?: string }): void {
    this.failWith = code === null ? null : new BackendError(code, `test: ${code}`, leader);
  }

  async write(w: KvWrite): Promise<KvResult> {
    const [result] = await this.writeBatch([w]);
    return result as KvResult;
  }

  writeBatch(writes: readonly KvWrite[]): Promise<KvResult[]> {
    if (this.failWith !== null) return Promise.reject(this.failWith);
    const n = this.batches.length;
    this.batches.push(writes.length);
    const delay = this.options.commitDelayMs?.(n) ?? 0;
    // Results wait for the delay, but writes apply in hand-over order, as a log would.
    const applied = this.applyQueue.then(() => writes.map((w) => this.state.apply(w)));
    this.applyQueue = applied.then(() => {
      this.index++;
    });
    return new Promise((resolve, reject) => {
      setTimeout(() => applied.then(resolve, reject), delay);
    });
  }

  async read(mode: ReadMode): Promise<KvReadView> {
    if (this.failWith !== null) throw this.failWith;
    this.reads.push(mode);
    await this.applyQueue;
    return this.state;
  }

  cluster(): ClusterInfo {
    return {
      id: 1,
      role: "leader",
      leader: 1,
      term: 1,
      commitIndex: this.index,
      appliedIndex: this.index,
      members: this.members,
    };
  }

  healthy(): boolean {
    return this.healthyNow && this.failWith === null;
  }

  async join(member: { id: number; raft: string; resp?: string; http?: string }): Promise<void> {
    if (this.failWith !== null) throw this.failWith;
    if (this.members.some((m) => m.id === member.id)) {
      throw new BackendError("bad-request", `node ${member.id} is already a member`);
    }
    this.members = [...this.members, { ...member, role: "voter" }];
  }

  async remove(id: number): Promise<void> {
    if (this.failWith !== null) throw this.failWith;
    if (!this.members.some((m) => m.id === id)) {
      throw new BackendError("bad-request", `node ${id} is not a member`);
    }
    this.members = this.members.filter((m) => m.id !== id);
  }
}
