// The applied state every engine serves from memory: the key space (mem-keyspace.ts), the
// member metadata and the applied point, with what applying a batch means (plain puts on a
// fast path, commands in order with their results told to the listener), the read view and
// the snapshot. The mem engine is this alone; the lmdb engine is this plus a write-back to
// lmdb, told of every change through the key space's StateChanges.
import { entryKind } from "../../proposal/command.js";
import type { KvReadView, KvResult, MemberAddresses, StateCommand } from "../../proposal/kv.js";
import { type ConfState, type Entry, EntryType, type Snapshot } from "../../raft/types.js";
import { EngineError } from "../errors.js";
import { commandKeys, decodeEntryCommand, forEachPut, startsWith, unapplied } from "./apply.js";
import type { ApplyListener } from "./engine.js";
import { globMatch } from "./glob.js";
import { applyKvWrite, OK } from "./kv-apply.js";
import { type DecodedKvSnapshot, encodeKvSnapshot } from "./kv-snapshot.js";
import { MemKeySpace, proposalKeyLength, type StateChanges } from "./mem-keyspace.js";

export interface AppliedPoint {
  index: number;
  term: number;
}

/** One decoded entry of a batch that holds commands (or meets lists): applied in order. */
type Step =
  | { kind: "put"; data: Uint8Array; keyLen: number; key?: Uint8Array; value?: Uint8Array }
  | { kind: "command"; index: number; id: number; command: StateCommand };

export interface AppliedStateOptions {
  /**
   * Throws for a key the engine cannot store (the lmdb engine's length limit), checked for
   * every key of a batch before anything changes; absent: every key is accepted.
   */
  checkKey?: (key: Uint8Array) => void;
}

export class AppliedState {
  // Values are views into the applied entries' data, which the log never modifies.
  private spaceNow = new MemKeySpace();
  private membersNow = new Map<number, MemberAddresses>();
  private point: AppliedPoint = { index: 0, term: 0 };
  private listener: ApplyListener | undefined;
  private changes: StateChanges | undefined;
  readonly view: KvReadView;
  // Scratch for one batch's decoded puts, reused across batches.
  private readonly datas: Uint8Array[] = [];
  private readonly keyLens: number[] = [];
  private readonly checkKey: ((key: Uint8Array) => void) | undefined;

  constructor(opts: AppliedStateOptions = {}) {
    this.view = new MemReadView(() => this.spaceNow);
    this.checkKey = opts.checkKey;
  }

  get space(): MemKeySpace {
    return this.spaceNow;
  }

  get members(): ReadonlyMap<number, MemberAddresses> {
    return this.membersNow;
  }

  get applied(): AppliedPoint {
    return this.point;
  }

  setListener(listener: ApplyListener | undefined): void {
    this.listener = listener;
  }

  /** Sets who hears of changes from now on (replace() keeps it). */
  observe(changes: StateChanges | undefined): void {
    this.changes = changes;
    this.spaceNow.changes = changes;
  }

  /**
   * Applies the part of `entries` not yet applied. Synchronous: when it returns, reads and
   * snapshots show the batch. A bad batch throws and changes nothing.
   */
  apply(entries: readonly Entry[]): void {
    const fresh = unapplied(entries, this.point.index);
    if (fresh.length === 0) return;
    if (this.spaceNow.lists.size > 0) {
      this.applySteps(fresh);
      return;
    }
    // The benchmark's path: plain puts of keys under 128 bytes (below any engine's key
    // limit), no lists to replace. Check everything before changing anything: a bad batch
    // leaves the map untouched.
    const datas = this.datas;
    const keyLens = this.keyLens;
    let n = 0;
    for (let i = 0; i < fresh.length; i++) {
      const e = fresh[i]!;
      if (e.type !== EntryType.Normal || e.data.byteLength === 0) continue;
      const keyLen = proposalKeyLength(e.data);
      if (keyLen < 0) {
        // A command, or a put of another shape (a key of 128 bytes or more, whose length
        // takes two bytes): the whole batch goes the ordered way, which decodes each.
        datas.length = 0;
        keyLens.length = 0;
        this.applySteps(fresh);
        return;
      }
      datas[n] = e.data;
      keyLens[n++] = keyLen;
    }
    const map = this.spaceNow.strings;
    for (let i = 0; i < n; i++) map.putProposal(datas[i]!, keyLens[i]!);
    const changes = this.changes;
    if (changes !== undefined)
      for (let i = 0; i < n; i++) changes.proposalPut(datas[i]!, keyLens[i]!);
    // Drop the references so applied entries are not kept alive by the scratch arrays.
    datas.length = 0;
    keyLens.length = 0;
    this.advance(fresh);
  }

  /** Decodes the whole batch (a bad entry changes nothing), then applies it in order. */
  private applySteps(fresh: readonly Entry[]): void {
    const checkKey = this.checkKey;
    const steps: Step[] = [];
    for (const e of fresh) {
      if (e.type !== EntryType.Normal || e.data.byteLength === 0) continue;
      if (entryKind(e.data) === "put") {
        const keyLen = proposalKeyLength(e.data);
        if (keyLen >= 0) steps.push({ kind: "put", data: e.data, keyLen });
        else
          forEachPut([e], (key, value) => {
            checkKey?.(key);
            steps.push({ kind: "put", data: e.data, keyLen, key, value });
          });
      } else {
        const { id, command } = decodeEntryCommand(e);
        if (checkKey !== undefined) for (const key of commandKeys(command)) checkKey(key);
        steps.push({ kind: "command", index: e.index, id, command });
      }
    }
    const space = this.spaceNow;
    const listener = this.listener;
    const results: [number, number, KvResult][] = [];
    let membersChanged = false;
    for (const step of steps) {
      if (step.kind === "put") {
        if (step.key !== undefined) space.setString(step.key, step.value!);
        else space.putProposal(step.data, step.keyLen);
        continue;
      }
      const c = step.command;
      let result: KvResult;
      if (c.op === "member-addresses") {
        this.membersNow.set(c.id, { ...c.addresses });
        membersChanged = true;
        result = OK;
      } else if (c.op === "forget-member") {
        this.membersNow.delete(c.id);
        membersChanged = true;
        result = OK;
      } else {
        result = applyKvWrite(space, c);
      }
      if (listener !== undefined) results.push([step.id, step.index, result]);
    }
    if (membersChanged) this.changes?.membersChanged();
    this.advance(fresh);
    for (const [id, index, result] of results) listener!.onApplied(id, index, result);
    if (membersChanged) listener?.onMembersChanged?.();
  }

  private advance(fresh: readonly Entry[]): void {
    const last = fresh[fresh.length - 1]!;
    this.point = { index: last.index, term: last.term };
  }

  /** A snapshot of the state at the applied point, with `confState`. */
  snapshot(confState: ConfState): Snapshot {
    const meta = { index: this.point.index, term: this.point.term, confState };
    const lists: [Uint8Array, Uint8Array[]][] = [];
    for (const [k, list] of this.spaceNow.lists)
      lists.push([Buffer.from(k, "latin1"), list.toArray()]);
    const data = encodeKvSnapshot({
      ...meta,
      pairs: this.spaceNow.strings.pairs(),
      lists,
      members: [...this.membersNow],
    });
    return { data, metadata: meta };
  }

  /**
   * Replaces the whole state (a restore, a clear, an engine's load at open) and tells the
   * listener the members changed. The observer hears nothing of it: whoever replaces the
   * state stores it whole.
   */
  replace(space: MemKeySpace, members: Map<number, MemberAddresses>, point: AppliedPoint): void {
    space.changes = this.changes;
    this.spaceNow = space;
    this.membersNow = members;
    this.point = { index: point.index, term: point.term };
    this.listener?.onMembersChanged?.();
  }

  /** Lets go of the state (a closed engine may stay referenced), telling no one. */
  release(): void {
    this.spaceNow = new MemKeySpace();
    this.membersNow = new Map();
  }
}

/**
 * The key space a decoded snapshot holds, with copies of its keys and values (the snapshot's
 * buffer may be reused by its sender), and its members.
 */
export function stateFromSnapshot(s: DecodedKvSnapshot): {
  space: MemKeySpace;
  members: Map<number, MemberAddresses>;
} {
  // One copy per pair (a short key's value used to be copied twice: restoring 100k pairs
  // took 0.65-0.95 s, now 0.18-0.33 s).
  const space = new MemKeySpace();
  for (const [k, v] of s.pairs) space.strings.putCopy(k, v);
  for (const [k, elements] of s.lists) {
    space.listPush(
      k,
      elements.map((e) => Uint8Array.prototype.slice.call(e)),
      "right",
    );
  }
  const members = new Map(s.members.map(([id, a]): [number, MemberAddresses] => [id, { ...a }]));
  return { space, members };
}

/** Reads over the in-memory key space (looked up on each call: a restore replaces it). */
class MemReadView implements KvReadView {
  constructor(private readonly space: () => MemKeySpace) {}

  get(key: Uint8Array): Uint8Array | null {
    return this.space().getString(key);
  }

  exists(key: Uint8Array): boolean {
    return this.space().typeOf(key) !== "none";
  }

  keys(pattern: Uint8Array): Uint8Array[] {
    return this.space()
      .allKeys()
      .filter((k) => globMatch(pattern, k))
      .sort(Buffer.compare);
  }

  scanPrefix(prefix: Uint8Array, limit: number): [Uint8Array, Uint8Array][] {
    return this.space()
      .strings.pairs()
      .filter(([k]) => startsWith(k, prefix))
      .sort((a, b) => Buffer.compare(a[0], b[0]))
      .slice(0, Math.max(0, limit));
  }

  size(): number {
    const s = this.space();
    return s.strings.size + s.lists.size;
  }

  listLength(key: Uint8Array): number | null {
    const s = this.space();
    return s.strings.has(key) ? null : s.listLength(key);
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
