// Raft wire types, mirroring proto/raft.proto field for field (camelCase here).
// Every index, term and node id is a JavaScript number: a safe integer, checked where it
// enters from outside (see `assertSafeIndex`). Constants are plain objects rather than
// TypeScript enums so the code also runs under type-stripping loaders.

export const EntryType = { Normal: 0, ConfChange: 1 } as const;
export type EntryType = (typeof EntryType)[keyof typeof EntryType];

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

export interface ConfState {
  voters: number[];
  learners: number[];
}

export interface SnapshotMetadata {
  confState: ConfState;
  index: number;
  term: number;
}

export interface Snapshot {
  data: Uint8Array;
  metadata: SnapshotMetadata;
}

export const MessageType = {
  MsgHup: 0,
  MsgBeat: 1,
  MsgProp: 2,
  MsgApp: 3,
  MsgAppResp: 4,
  MsgVote: 5,
  MsgVoteResp: 6,
  MsgSnap: 7,
  MsgHeartbeat: 8,
  MsgHeartbeatResp: 9,
  MsgUnreachable: 10,
  MsgSnapStatus: 11,
  MsgCheckQuorum: 12,
  MsgTransferLeader: 13,
  MsgTimeoutNow: 14,
  MsgReadIndex: 15,
  MsgReadIndexResp: 16,
  MsgPreVote: 17,
  MsgPreVoteResp: 18,
  MsgStorageAppend: 19,
  MsgStorageAppendResp: 20,
  MsgStorageApply: 21,
  MsgStorageApplyResp: 22,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

const messageTypeNames: readonly string[] = Object.keys(MessageType);
export function messageTypeName(t: MessageType): string {
  return messageTypeNames[t] ?? `MsgUnknown(${t})`;
}

export interface Message {
  type: MessageType;
  to: number;
  from: number;
  term: number;
  /** Term of the entry at `index` (MsgApp), or of the candidate's last entry (votes). */
  logTerm: number;
  index: number;
  entries: Entry[];
  commit: number;
  snapshot?: Snapshot;
  reject: boolean;
  rejectHint: number;
  context: Uint8Array;
  /** Local storage messages only: the vote to persist. */
  vote: number;
  /** Local storage messages only: what to deliver once the write or apply is done. */
  responses?: Message[];
}

export interface HardState {
  term: number;
  vote: number;
  commit: number;
}

export const ConfChangeType = {
  AddNode: 0,
  RemoveNode: 1,
  UpdateNode: 2,
  AddLearnerNode: 3,
} as const;
export type ConfChangeType = (typeof ConfChangeType)[keyof typeof ConfChangeType];

export interface ConfChange {
  type: ConfChangeType;
  nodeId: number;
  context: Uint8Array;
}

/** Shared empty byte array: never written to, so one instance serves every empty field. */
export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** No node has id 0: it stands for "none" in votes, leaders and message addresses. */
export const NONE = 0;

/**
 * Builds a message with every field present, so all messages share one object shape
 * (V8 keeps property access monomorphic on the hot path).
 */
export function makeMessage(
  fields: Partial<Message> & Pick<Message, "type" | "to" | "from">,
): Message {
  return {
    type: fields.type,
    to: fields.to,
    from: fields.from,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? [],
    commit: fields.commit ?? 0,
    snapshot: fields.snapshot,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    context: fields.context ?? EMPTY_BYTES,
    vote: fields.vote ?? 0,
    responses: fields.responses,
  };
}

export function emptyHardState(): HardState {
  return { term: 0, vote: NONE, commit: 0 };
}

export function isEmptyHardState(hs: HardState): boolean {
  return hs.term === 0 && hs.vote === NONE && hs.commit === 0;
}

export function hardStateEqual(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

export function emptySnapshot(): Snapshot {
  return {
    data: EMPTY_BYTES,
    metadata: { confState: { voters: [], learners: [] }, index: 0, term: 0 },
  };
}

export function isEmptySnapshot(s: Snapshot | undefined): boolean {
  return s === undefined || s.metadata.index === 0;
}

/** Throws unless `n` is a non-negative safe integer; `what` names the field in the error. */
export function assertSafeIndex(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${what} must be a non-negative safe integer, got ${n}`);
  }
}
