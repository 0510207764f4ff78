// The writes a node has handed to the core and not yet seen applied, kept by batch (the
// writes of one writeBatch call), each batch with the leader it was handed to and the time
// after which its caller is answered without a result.
//
// A batch normally waits for its results up to the write timeout. When the leader it was
// handed to is replaced (it died, or lost an election), its writes may still commit (the
// old leader may have replicated them before it went) or may be lost for good, and nothing
// here can tell which before the new leader has committed what it inherited. So such a
// batch gets a short grace instead of the rest of its timeout: the new leader commits the
// inherited entries within it in the usual case, and otherwise the caller hears "outcome
// unknown" in about an election timeout, not after the whole write timeout.
//
// Kept by batch rather than by write because every write of a batch shares its caller,
// its leader and its deadline, and because a batch's caller gets all its results or one
// error: one pair of callbacks and one deadline per batch is what a client chunk costs,
// however many commands it holds.
//
// Callers are answered from one microtask per burst of answers (a Ready's applies settle many
// batches at once), never inside settle() itself: the state machine reports results in the
// middle of its apply, which a front-end's reply (a socket write) must not interleave with,
// and a callback that throws must not stop the apply. This is when a promise's reactions ran.
import { BackendError, type KvResult, type WriteCallbacks } from "./contract.js";
import type { ProposalId } from "./state-machine.js";

/** One writeBatch waiting for its results (its callbacks hear once every write applied). */
export interface PendingBatch {
  readonly ids: readonly ProposalId[];
}

interface Batch extends PendingBatch {
  values: KvResult[];
  missing: number;
  to: WriteCallbacks;
  /** Set when the batch is answered with an error instead of its results. */
  error: BackendError | undefined;
  /** The leader it was handed to (0: not handed over yet). */
  leader: number;
}

export class PendingWrites {
  /** Every waiting write: its batch and its place in the batch's results. */
  private readonly writes = new Map<ProposalId, { batch: Batch; slot: number }>();
  /** Batches in deadline order (insertion order: every batch gets the same timeout). */
  private readonly deadlines = new Map<Batch, number>();
  /** Batches whose leader was replaced, in deadline order (one grace for all). */
  private readonly orphans = new Map<Batch, { deadline: number; leader: number }>();

  constructor(
    private readonly timeoutMs: number,
    /** How long a write whose leader was replaced still waits for its result. */
    private readonly graceMs: number,
  ) {}

  /** Writes waiting for their result. */
  get size(): number {
    return this.writes.size;
  }

  /** Batches answered and not yet told (told from one microtask: see the top). */
  private answered: Batch[] = [];

  /** Waits for the results of `ids` for `to`, answered by settle(), expire() or rejectAll(). */
  add(ids: readonly ProposalId[], now: number, to: WriteCallbacks): PendingBatch {
    const batch: Batch = {
      ids,
      values: new Array<KvResult>(ids.length),
      missing: ids.length,
      to,
      error: undefined,
      leader: 0,
    };
    for (let slot = 0; slot < ids.length; slot++) {
      this.writes.set(ids[slot] as ProposalId, { batch, slot });
    }
    this.deadlines.set(batch, now + this.timeoutMs);
    return batch;
  }

  /** `batch` was handed to the core while `leader` led (this node's core forwards it there). */
  handedTo(batch: PendingBatch, leader: number): void {
    (batch as Batch).leader = leader;
  }

  /** The state machine applied `id`: once its batch is complete, the caller gets the results. */
  settle(id: ProposalId, result: KvResult): void {
    const w = this.writes.get(id);
    if (w === undefined) return;
    this.writes.delete(id);
    const batch = w.batch;
    batch.values[w.slot] = result;
    if (--batch.missing > 0) return;
    this.forget(batch);
    this.answer(batch);
  }

  /** Stops waiting for `batch` (its caller has gone). */
  forget(batch: PendingBatch): void {
    const b = batch as Batch;
    if (b.missing > 0) for (const id of b.ids) this.writes.delete(id);
    this.deadlines.delete(b);
    this.orphans.delete(b);
  }

  /** The leader is now `lead` (0: none known): batches handed to another leader get the grace. */
  leaderIs(lead: number, now: number): void {
    const deadline = now + this.graceMs;
    for (const [batch, own] of this.deadlines) {
      if (batch.leader === 0 || batch.leader === lead || own <= deadline) continue;
      this.deadlines.delete(batch);
      this.orphans.set(batch, { deadline, leader: batch.leader });
    }
  }

  /** Answers every batch whose time is up: its outcome is unknown, it may still apply. */
  expire(now: number): void {
    for (const [batch, deadline] of this.deadlines) {
      if (deadline > now) break;
      this.fail(batch, new BackendError("timeout", `no result within ${this.timeoutMs} ms`));
    }
    for (const [batch, orphan] of this.orphans) {
      if (orphan.deadline > now) break;
      this.fail(
        batch,
        new BackendError(
          "timeout",
          `the leader it was sent to (node ${orphan.leader}) was replaced before the write applied`,
        ),
      );
    }
  }

  rejectAll(err: BackendError): void {
    const batches = [...this.deadlines.keys(), ...this.orphans.keys()];
    for (const b of batches) this.fail(b, err);
  }

  /** Answers `batch` with `err` now (expired, or it could not be handed over); once only. */
  fail(batch: PendingBatch, err: BackendError): void {
    const b = batch as Batch;
    if (b.missing === 0) return;
    this.forget(b);
    b.missing = 0;
    b.error = err;
    this.answer(b);
  }

  private answer(b: Batch): void {
    if (this.answered.push(b) === 1) queueMicrotask(this.tell);
  }

  private readonly tell = (): void => {
    const batches = this.answered;
    this.answered = [];
    for (const b of batches) {
      try {
        if (b.error === undefined) b.to.done(b.values);
        else b.to.fail(b.error);
      } catch {
        // A caller whose own callbacks fail has nothing more to be told.
      }
    }
  };
}
