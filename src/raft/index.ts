// The consensus core's public surface.
export {
  type Config,
  LOCAL_APPEND_THREAD,
  LOCAL_APPLY_THREAD,
  type Logger,
  type LogStorage,
  type ProgressState,
  type ProgressStatus,
  type ReadState,
  type Ready,
  type Role,
  type SoftState,
  type Status,
  silentLogger,
  type TestingBugs,
} from "./api.js";
export { decodeConfChange, encodeConfChange } from "./confchange.js";
export {
  InvariantViolation,
  invariant,
  isRaftError,
  RaftError,
  type RaftErrorCode,
} from "./errors.js";
export { LoopbackCluster, type LoopbackOptions } from "./loopback-cluster.js";
export { MemoryStorage } from "./memory-storage.js";
export { RawNode } from "./rawnode.js";
export { type Rng, SeededRng } from "./rng.js";
export {
  assertSafeIndex,
  type ConfChange,
  ConfChangeType,
  type ConfState,
  EMPTY_BYTES,
  type Entry,
  EntryType,
  emptyHardState,
  emptySnapshot,
  type HardState,
  hardStateEqual,
  isEmptyHardState,
  isEmptySnapshot,
  type Message,
  MessageType,
  makeMessage,
  messageTypeName,
  NONE,
  type Snapshot,
  type SnapshotMetadata,
} from "./types.js";
