// The writes a node has handed to the core and not yet seen applied, each with the leader it
// was handed to and the time after which its caller is answered without a result.
//
// A write normally waits for its result up to the write timeout. When the leader it was
// handed to is replaced (it died, or lost an election), the write may still commit (the
// old leader may have replicated it before it went) or may be lost for good, and nothing
// here can tell which before the new leader has committed what it inherited. So such a
// write gets a short grace instead of the rest of its timeout: the new leader commits the
// inherited entries within it in the usual case, and otherwise the caller hears "outcome
// unknown" in about an election timeout, not after the whole write timeout.
import { BackendError, type KvResult } from "./contract.js";
import type { ProposalId } from "./state-machine.js";

interface PendingWrite {
  resolve(result: KvResult): void;
  reject(err: BackendError): void;
  /** The leader it was handed to (0: not handed over yet). */
  leader: number;
}

export class PendingWrites {
  private readonly writes = new Map<ProposalId, PendingWrite>();
  /** In deadline order (insertion order: every write gets the same timeout). */
  private readonly deadlines = new Map<ProposalId, number>();
  /** Writes whose leader was replaced, in deadline order (one grace for all). */
  private readonly orphans = new Map<ProposalId, { deadline: number; leader: number }>();

  constructor(
    private readonly timeoutMs: number,
    /** How long a write whose leader was replaced still waits for its result. */
    private readonly graceMs: number,
  ) {}

  get size(): number {
    return this.writes.size;
  }

  /** Waits for the result of `id`, answered by settle(), expire() or rejectAll(). */
  add(id: ProposalId, now: number): Promise<KvResult> {
    const result = new Promise<KvResult>((resolve, reject) => {
      this.writes.set(id, { resolve, reject, leader: 0 });
    });
    this.deadlines.set(id, now + this.timeoutMs);
    return result;
  }

  /** `ids` were handed to the core while `leader` led (this node's core forwards them there). */
  handedTo(ids: readonly ProposalId[], leader: number): void {
    for (const id of ids) {
      const w = this.writes.get(id);
      if (w !== undefined) w.leader = leader;
    }
  }

  /** The state machine applied `id`: its caller gets the result. */
  settle(id: ProposalId, result: KvResult): void {
    const w = this.writes.get(id);
    if (w === undefined) return;
    this.forget(id);
    w.resolve(result);
  }

  /** Stops waiting for `id` (its caller has gone). */
  forget(id: ProposalId): void {
    this.writes.delete(id);
    this.deadlines.delete(id);
    this.orphans.delete(id);
  }

  /** The leader is now `lead` (0: none known): writes handed to another leader get the grace. */
  leaderIs(lead: number, now: number): void {
    const deadline = now + this.graceMs;
    for (const [id, w] of this.writes) {
      if (w.leader === 0 || w.leader === lead || this.orphans.has(id)) continue;
      const own = this.deadlines.get(id);
      if (own !== undefined && own <= deadline) continue;
      this.deadlines.delete(id);
      this.orphans.set(id, { deadline, leader: w.leader });
    }
  }

  /** Answers every write whose time is up: its outcome is unknown, it may still apply. */
  expire(now: number): void {
    for (const [id, deadline] of this.deadlines) {
      if (deadline > now) break;
      const w = this.writes.get(id);
      this.forget(id);
      w?.reject(new BackendError("timeout", `no result within ${this.timeoutMs} ms`));
    }
    for (const [id, orphan] of this.orphans) {
      if (orphan.deadline > now) break;
      const w = this.writes.get(id);
      this.forget(id);
      w?.reject(
        new BackendError(
          "timeout",
          `the leader it was sent to (node ${orphan.leader}) was replaced before the write applied`,
        ),
      );
    }
  }

  rejectAll(err: BackendError): void {
    for (const w of this.writes.values()) w.reject(err);
    this.writes.clear();
    this.deadlines.clear();
    this.orphans.clear();
  }
}
