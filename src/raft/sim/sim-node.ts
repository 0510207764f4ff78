// One simulated server: a RawNode (its volatile state, gone on a crash) over a
// MemoryStorage and a StateMachine (its durable state, kept across crashes), plus the work
// it has accepted but not finished: in synchronous-storage mode the Ready it took but has
// not persisted or applied yet, in asyncStorageWrites mode the queues of its local append
// and apply workers.
import type { Config, Ready } from "../api.js";
import { MemoryStorage } from "../memory-storage.js";
import { RawNode } from "../rawnode.js";
import type { Message } from "../types.js";
import { StateMachine } from "./state-machine.js";

export class SimNode {
  readonly storage = new MemoryStorage();
  readonly sm = new StateMachine();
  /** The running incarnation; undefined while crashed. */
  raw: RawNode | undefined;
  /** Synchronous mode: the Ready taken from the core and not yet advanced. */
  pending: Ready | undefined;
  /** Synchronous mode: whether `pending` has been persisted and its messages sent. */
  pendingPersisted = false;
  /** Async mode: MsgStorageAppend messages waiting for the local append worker. */
  readonly appendQueue: Message[] = [];
  /** Async mode: MsgStorageApply messages waiting for the local apply worker. */
  readonly applyQueue: Message[] = [];
  /** Step at which a crashed node restarts. */
  restartAt = 0;
  /** Last role and term seen through status(). */
  isLeader = false;
  term = 0;
  commit = 0;
  /** The leader the node knows of (0: none), and a leader's transfer target (0: none). */
  lead = 0;
  leadTransferee = 0;
  /** Highest index of a conf change entry the core has handed out for persistence. */
  lastConfIndex = 0;

  constructor(readonly id: number) {}

  get up(): boolean {
    return this.raw !== undefined;
  }

  start(config: Config): RawNode {
    this.raw = new RawNode(config);
    return this.raw;
  }

  /** Loses everything volatile: the core, the Ready in hand, the workers' queues. */
  crash(): void {
    this.raw = undefined;
    this.pending = undefined;
    this.pendingPersisted = false;
    this.appendQueue.length = 0;
    this.applyQueue.length = 0;
    this.isLeader = false;
    this.commit = 0;
    this.lead = 0;
    this.leadTransferee = 0;
  }

  hasStorageWork(): boolean {
    return this.pending !== undefined || this.appendQueue.length > 0;
  }

  hasApplyWork(): boolean {
    return this.applyQueue.length > 0;
  }
}
