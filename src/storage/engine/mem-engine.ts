// The in-memory engine: the applied key-value map in Maps, hard state in a field. Nothing
// survives a restart; a node on it rebuilds its state by re-applying its log.
import { encodeProposal, PROPOSAL_VERSION } from "../../codec/proposal.js";
import {
  type ConfState,
  type Entry,
  EntryType,
  emptyHardState,
  type HardState,
  type Snapshot,
} from "../../raft/types.js";
import { EngineError } from "../errors.js";
import { forEachPut, unapplied } from "./apply.js";
import type { Engine } from "./engine.js";
import { decodeKvSnapshot, encodeKvSnapshot } from "./kv-snapshot.js";

/** Keys as latin1 strings: one char per byte, so any byte string maps to a distinct key. */
function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString("latin1");
}

// The proposal layout (src/codec/proposal.ts): version, 8-byte id, varint key length, key,
// value. Keys up to 127 bytes have a one-byte length, so the key starts at a fixed offset.
const KEY_START = 10;
/** Keys up to this many bytes are kept under a number: no string, no value view per put. */
const NUMBER_KEY_BYTES = 4;

/**
 * The key length of a well-formed proposal with a one-byte key length and a safe-integer id
 * (what decodeProposal accepts), or -1 when the shared decoder must look at it.
 */
function proposalKeyLength(d: Uint8Array): number {
  if (d.length < KEY_START || d[0] !== PROPOSAL_VERSION || d[8] !== 0 || d[7]! >= 0x20) return -1;
  const keyLen = d[9]!;
  if (keyLen >= 0x80 || KEY_START + keyLen > d.length) return -1;
  return keyLen;
}

/** The little-endian number of `len` <= 4 bytes at `start`: distinct per byte string of one length. */
function numberKey(d: Uint8Array, start: number, len: number): number {
  let n = 0;
  for (let i = len - 1; i >= 0; i--) n = n * 256 + d[start + i]!;
  return n;
}

/**
 * The applied key-value map. Benchmark keys are a few bytes: those live in one Map per key
 * length, keyed by the key's bytes as a number, and hold the whole proposal (the value is its
 * tail), so a put allocates nothing. Longer keys are latin1 strings (one char per byte, so
 * distinct byte strings stay distinct) holding value views.
 */
class KvMap {
  /** By key length 0..NUMBER_KEY_BYTES: proposal bytes, value from KEY_START + length on. */
  private readonly short: Map<number, Uint8Array>[] = Array.from(
    { length: NUMBER_KEY_BYTES + 1 },
    () => new Map(),
  );
  private readonly long = new Map<string, Uint8Array>();

  /** Puts the proposal `d` whose key is `keyLen` bytes at KEY_START. */
  putProposal(d: Uint8Array, keyLen: number): void {
    if (keyLen <= NUMBER_KEY_BYTES) {
      this.short[keyLen]!.set(numberKey(d, KEY_START, keyLen), d);
    } else {
      this.long.set(
        keyString(d.subarray(KEY_START, KEY_START + keyLen)),
        d.subarray(KEY_START + keyLen),
      );
    }
  }

  /** Puts a copy of `value`: the caller's buffer may be reused. */
  putCopy(key: Uint8Array, value: Uint8Array): void {
    if (key.length <= NUMBER_KEY_BYTES) {
      // Kept in proposal form like every short key; encoding it is the copy.
      this.putProposal(encodeProposal({ id: 0, key, value }), key.length);
    } else {
      this.long.set(keyString(key), Uint8Array.prototype.slice.call(value));
    }
  }

  pairs(): [Uint8Array, Uint8Array][] {
    const out: [Uint8Array, Uint8Array][] = [];
    this.short.forEach((map, len) => {
      for (const d of map.values()) {
        out.push([d.subarray(KEY_START, KEY_START + len), d.subarray(KEY_START + len)]);
      }
    });
    for (const [k, v] of this.long) out.push([Buffer.from(k, "latin1"), v]);
    return out;
  }
}

export class MemEngine implements Engine {
  readonly kind = "mem";
  // Values are views into the applied entries' data, which the log never modifies.
  private map = new KvMap();
  // Scratch for one batch's decoded puts, reused across batches.
  private readonly datas: Uint8Array[] = [];
  private readonly keyLens: number[] = [];
  private hs: HardState = emptyHardState();
  private cs: ConfState = { voters: [], learners: [] };
  private applied = 0;
  private appliedTerm = 0;
  private closed = false;

  hardState(): HardState {
    return { ...this.hs };
  }

  async setHardState(hs: HardState, _opts: { sync: boolean }): Promise<void> {
    this.checkOpen();
    this.hs = { term: hs.term, vote: hs.vote, commit: hs.commit };
  }

  confState(): ConfState {
    return { voters: [...this.cs.voters], learners: [...this.cs.learners] };
  }

  async setConfState(cs: ConfState): Promise<void> {
    this.checkOpen();
    this.cs = { voters: [...cs.voters], learners: [...cs.learners] };
  }

  async applyEntries(entries: readonly Entry[]): Promise<void> {
    this.checkOpen();
    const fresh = unapplied(entries, this.applied);
    if (fresh.length === 0) return;
    // Check everything before changing anything: a bad batch leaves the map untouched.
    const datas = this.datas;
    const keyLens = this.keyLens;
    let n = 0;
    for (let i = 0; i < fresh.length; i++) {
      const e = fresh[i]!;
      if (e.type !== EntryType.Normal || e.data.byteLength === 0) continue;
      const keyLen = proposalKeyLength(e.data);
      if (keyLen < 0) {
        // Not the common shape: the shared decoder parses it or says what is wrong.
        forEachPut([e], (k, v) => {
          datas[n] = encodeProposal({ id: 0, key: k, value: v });
          keyLens[n++] = k.length;
        });
        continue;
      }
      datas[n] = e.data;
      keyLens[n++] = keyLen;
    }
    const map = this.map;
    for (let i = 0; i < n; i++) map.putProposal(datas[i]!, keyLens[i]!);
    // Drop the references so applied entries are not kept alive by the scratch arrays.
    datas.length = 0;
    keyLens.length = 0;
    const last = fresh[fresh.length - 1]!;
    this.applied = last.index;
    this.appliedTerm = last.term;
  }

  appliedIndex(): number {
    return this.applied;
  }

  async snapshot(): Promise<Snapshot> {
    this.checkOpen();
    const meta = { index: this.applied, term: this.appliedTerm, confState: this.confState() };
    return { data: encodeKvSnapshot({ ...meta, pairs: this.map.pairs() }), metadata: meta };
  }

  async restore(snapshot: Snapshot): Promise<void> {
    this.checkOpen();
    const s = decodeKvSnapshot(snapshot.data);
    checkSnapshotAgrees(s, snapshot);
    // The snapshot's buffer may be reused by its sender: keep copies, one per pair (a short
    // key's value used to be copied twice: restoring 100k pairs took 0.65-0.95 s, now
    // 0.18-0.33 s).
    const map = new KvMap();
    for (const [k, v] of s.pairs) map.putCopy(k, v);
    this.map = map;
    this.applied = snapshot.metadata.index;
    this.appliedTerm = snapshot.metadata.term;
    this.cs = {
      voters: [...snapshot.metadata.confState.voters],
      learners: [...snapshot.metadata.confState.learners],
    };
  }

  async clear(): Promise<void> {
    this.checkOpen();
    this.map = new KvMap();
    this.hs = emptyHardState();
    this.cs = { voters: [], learners: [] };
    this.applied = 0;
    this.appliedTerm = 0;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.map = new KvMap();
  }

  private checkOpen(): void {
    if (this.closed) throw new EngineError("closed", "engine: closed");
  }
}

/** The data and the metadata of a snapshot must describe the same point. */
export function checkSnapshotAgrees(s: { index: number; term: number }, snapshot: Snapshot): void {
  const m = snapshot.metadata;
  if (s.index !== m.index || s.term !== m.term) {
    throw new EngineError(
      "malformed-snapshot",
      `snapshot data is at index ${s.index} term ${s.term} but its metadata says index ` +
        `${m.index} term ${m.term}: the snapshot is damaged`,
    );
  }
}
