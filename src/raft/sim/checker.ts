// The safety invariants of Raft, checked incrementally from the events of a run: every
// check costs O(1) or O(entries written) per event, never O(log length), so a checker can
// run after every simulator step.
//
// The checker keeps, per node, two views of its log (what the core has handed out for
// persistence, "mem", and what is durable, "disk"), its commit indexes and its state
// machine position; globally, the prefix of the log known to be committed (the term and
// prefix hash of each committed index) and the prefix hash seen for every (index, term).
import type { Entry } from "../types.js";
import { entryChainHash } from "./hash.js";
import { type LogReader, LogView } from "./log-view.js";

export type InvariantName =
  | "election-safety"
  | "log-matching"
  | "committed-entry-stable"
  | "leader-completeness"
  | "state-machine-safety"
  | "commit-monotonic"
  | "read-index-linearizable"
  | "liveness"
  | "config-agreement"
  | "core-invariant"
  // The properties of properties/ (one module each):
  | "commit-own-term"
  | "commit-quorum"
  | "match-agreement"
  | "read-index-quorum"
  | "calm-term-stable"
  | "check-quorum-step-down"
  | "transfer-completes";

export class SafetyViolation extends Error {
  readonly invariant: InvariantName;
  readonly detail: string;

  constructor(invariant: InvariantName, detail: string) {
    super(`${invariant}: ${detail}`);
    this.name = "SafetyViolation";
    this.invariant = invariant;
    this.detail = detail;
  }
}

export type ViewKind = "mem" | "disk";

interface NodeTrack {
  mem: LogView;
  disk: LogView;
  /** Highest commit index the running incarnation has reported (volatile). */
  memCommit: number;
  /**
   * memCommit when the core last handed out entries. Entries the core hands out next may
   * replace anything above it (the commit may have moved past them in the same event that
   * replaced them), but nothing at or below it.
   */
  memGuard: number;
  /** Commit index of the durable hard state. */
  diskCommit: number;
  smIndex: number;
  smHash: number;
  /** Term for which leader completeness was last checked on this node. */
  checkedLeaderTerm: number;
}

/** The commit index below which a write to the view may not change anything. */
function guardOf(t: NodeTrack, kind: ViewKind): number {
  return kind === "mem" ? t.memGuard : t.diskCommit;
}

const UNKNOWN = Number.NaN;

export class InvariantChecker {
  private readonly nodes = new Map<number, NodeTrack>();
  private readonly leaders = new Map<number, number>();
  /** committedTerms[i], committedHashes[i]: index i of the committed prefix (NaN: not seen). */
  private readonly committedTerms: number[] = [0];
  private readonly committedHashes: number[] = [0];
  /** Prefix hash first seen for (index, term), keyed by term * 2^32 + index. */
  private readonly prefixByIndexTerm = new Map<number, number>();
  private readonly readBounds = new Map<number, number>();
  private maxCommitEver = 0;
  /**
   * commitTermOf[i]: the term of the leader whose commit index first reached i (index 0
   * unused). Leader completeness is owed only for entries committed in earlier terms: a
   * node removed from the group may still win an election for a stale term (with votes
   * of nodes that have not heard of newer terms) after a later term committed more.
   */
  private readonly commitTermOf: number[] = [0];

  /** Number of terms in which some node was seen as leader. */
  get elections(): number {
    return this.leaders.size;
  }

  /** Highest index known to be committed anywhere. */
  get knownCommit(): number {
    return this.committedHashes.length - 1;
  }

  addNode(id: number): void {
    if (this.nodes.has(id)) return;
    this.nodes.set(id, {
      mem: new LogView(),
      disk: new LogView(),
      memCommit: 0,
      memGuard: 0,
      diskCommit: 0,
      smIndex: 0,
      smHash: 0,
      checkedLeaderTerm: 0,
    });
  }

  /** A node's log as the core handed it out ("mem") or as it is durable ("disk"); read only. */
  view(id: number, kind: ViewKind): LogReader {
    const t = this.track(id);
    return kind === "mem" ? t.mem : t.disk;
  }

  private track(id: number): NodeTrack {
    const t = this.nodes.get(id);
    if (t === undefined) throw new Error(`checker: unknown node ${id}`);
    return t;
  }

  /** The node's volatile state as the core reports it (after any event on the node). */
  observeState(id: number, term: number, isLeader: boolean, commit: number): void {
    const t = this.track(id);
    if (isLeader) {
      const prev = this.leaders.get(term);
      if (prev === undefined) this.leaders.set(term, id);
      else if (prev !== id) {
        throw new SafetyViolation(
          "election-safety",
          `nodes ${prev} and ${id} are both leader in term ${term}`,
        );
      }
    }
    if (commit < t.memCommit) {
      throw new SafetyViolation(
        "commit-monotonic",
        `node ${id} commit went from ${t.memCommit} back to ${commit}`,
      );
    }
    t.memCommit = commit;
    if (commit > this.maxCommitEver) this.maxCommitEver = commit;
    if (isLeader) {
      for (let i = this.commitTermOf.length; i <= commit; i++) this.commitTermOf.push(term);
    }
  }

  /**
   * The highest index committed in a term before `term` (commit terms grow with the
   * index). An index no leader was seen committing counts as committed before.
   */
  private committedBefore(term: number): number {
    let k = this.knownCommit;
    while (k > 0 && k < this.commitTermOf.length && this.commitTermOf[k]! >= term) k--;
    return k;
  }

  /**
   * Entries written to a view starting at entries[0].index, replacing everything from
   * there on (the semantics of MemoryStorage.append and of the core's unstable log).
   */
  append(id: number, kind: ViewKind, entries: readonly Entry[]): void {
    const t = this.track(id);
    if (kind === "mem") {
      const guard = t.memGuard;
      t.memGuard = t.memCommit;
      this.appendTo(id, t.mem, kind, guard, entries);
    } else {
      this.appendTo(id, t.disk, kind, t.diskCommit, entries);
    }
  }

  private appendTo(
    id: number,
    view: LogView,
    kind: ViewKind,
    commit: number,
    entries: readonly Entry[],
  ): void {
    if (entries.length === 0) return;
    let k = entries[0]!.index;
    let from = 0;
    // Entries at or below the view's base are compacted away; storage ignores them.
    if (k <= view.first) {
      from = view.first + 1 - k;
      k = view.first + 1;
      if (from >= entries.length) return;
    }
    if (k > view.last + 1) {
      throw new SafetyViolation(
        "log-matching",
        `node ${id} ${kind} log ends at ${view.last} but an append starts at ${k}`,
      );
    }
    const prevLast = view.last;
    const guarded = Math.min(prevLast, commit);
    const guardedHash = guarded >= k ? view.hashAt(guarded) : 0;

    view.truncateAfter(k - 1);
    let hash = view.hashAt(k - 1);
    for (let j = from; j < entries.length; j++) {
      const e = entries[j]!;
      if (e.index !== k + (j - from)) {
        throw new SafetyViolation(
          "log-matching",
          `node ${id} ${kind} append is not contiguous at index ${e.index}`,
        );
      }
      hash = entryChainHash(hash, e);
      view.push(e.term, hash);
      this.recordPrefix(id, e.index, e.term, hash);
    }
    if (guarded >= k && (view.last < guarded || view.hashAt(guarded) !== guardedHash)) {
      throw new SafetyViolation(
        "committed-entry-stable",
        `node ${id} ${kind} log rewrote or dropped committed entries: append at ${k}..${view.last} ` +
          `with commit ${commit} (entry ${guarded} changed or vanished)`,
      );
    }
  }

  /** Log matching: every log holding (index, term) holds the same prefix up to index. */
  private recordPrefix(id: number, index: number, term: number, hash: number): void {
    const key = term * 0x1_0000_0000 + index;
    const seen = this.prefixByIndexTerm.get(key);
    if (seen === undefined) this.prefixByIndexTerm.set(key, hash);
    else if (seen !== hash) {
      throw new SafetyViolation(
        "log-matching",
        `node ${id} holds (index ${index}, term ${term}) with a prefix that differs from another log's`,
      );
    }
  }

  /** A snapshot replaced the view: the log now starts after (index, term) with this prefix hash. */
  snapshot(id: number, kind: ViewKind, index: number, term: number, hash: number): void {
    const t = this.track(id);
    const view = kind === "mem" ? t.mem : t.disk;
    const commit = guardOf(t, kind);
    if (kind === "mem") t.memGuard = t.memCommit;
    if (index < commit) {
      throw new SafetyViolation(
        "committed-entry-stable",
        `node ${id} ${kind} log committed up to ${commit} was replaced by an older snapshot at ${index}`,
      );
    }
    this.recordPrefix(id, index, term, hash);
    this.registerCommitted(id, index, term, hash, "snapshot");
    view.reset(index, term, hash);
  }

  /** The durable hard state now says `commit`. */
  durableCommit(id: number, commit: number): void {
    const t = this.track(id);
    if (commit < t.diskCommit) {
      throw new SafetyViolation(
        "commit-monotonic",
        `node ${id} durable commit went from ${t.diskCommit} back to ${commit}`,
      );
    }
    if (commit === t.diskCommit) return;
    const disk = t.disk;
    if (commit > disk.last) {
      throw new SafetyViolation(
        "committed-entry-stable",
        `node ${id} durable commit ${commit} is beyond its durable log (last ${disk.last})`,
      );
    }
    t.diskCommit = commit;
    if (commit > this.maxCommitEver) this.maxCommitEver = commit;
    // Every index the node now calls committed must agree with the cluster's committed
    // prefix; comparing prefix hashes at the highest common index covers all below it.
    const known = this.knownCommit;
    const check = Math.min(commit, known);
    if (check >= disk.first) {
      this.registerCommitted(id, check, disk.termAt(check), disk.hashAt(check), "log");
    }
    for (let i = Math.max(known + 1, disk.first); i <= commit; i++) {
      this.registerCommitted(id, i, disk.termAt(i), disk.hashAt(i), "log");
    }
  }

  /** Compares (or extends) the committed prefix with what node `id` holds committed at `index`. */
  private registerCommitted(
    id: number,
    index: number,
    term: number,
    hash: number,
    source: "log" | "snapshot" | "apply",
  ): void {
    const known = this.knownCommit;
    if (index <= known) {
      const want = this.committedHashes[index]!;
      if (Number.isNaN(want)) {
        this.committedHashes[index] = hash;
        this.committedTerms[index] = term;
      } else if (want !== hash) {
        const invariant = source === "apply" ? "state-machine-safety" : "committed-entry-stable";
        throw new SafetyViolation(
          invariant,
          `node ${id} ${source} at index ${index} (term ${term}) differs from the committed ` +
            `entry (term ${this.committedTerms[index]})`,
        );
      }
      return;
    }
    for (let i = known + 1; i < index; i++) {
      this.committedHashes.push(UNKNOWN);
      this.committedTerms.push(UNKNOWN);
    }
    this.committedHashes.push(hash);
    this.committedTerms.push(term);
  }

  /** Leader completeness: a leader's log holds every entry committed before its term. */
  leaderLog(id: number, term: number): void {
    const t = this.track(id);
    if (t.checkedLeaderTerm === term) return;
    t.checkedLeaderTerm = term;
    const known = this.committedBefore(term);
    if (known <= t.mem.first) return; // its snapshot covers them; checked when installed
    if (t.mem.last < known) {
      throw new SafetyViolation(
        "leader-completeness",
        `leader ${id} of term ${term} has log up to ${t.mem.last}, but ${known} is committed`,
      );
    }
    const want = this.committedHashes[known]!;
    if (!Number.isNaN(want) && t.mem.hashAt(known) !== want) {
      throw new SafetyViolation(
        "leader-completeness",
        `leader ${id} of term ${term} lacks a committed entry at or below ${known}`,
      );
    }
  }

  /**
   * The node's state machine applied `e`. Entries at or below its applied index are
   * redeliveries after a restart (the state machine skips them).
   */
  applied(id: number, e: Entry): void {
    const t = this.track(id);
    if (e.index <= t.smIndex) {
      const want = this.committedTerms[e.index];
      if (want !== undefined && !Number.isNaN(want) && want !== e.term) {
        throw new SafetyViolation(
          "state-machine-safety",
          `node ${id} was handed entry ${e.index} of term ${e.term} again, committed term is ${want}`,
        );
      }
      return;
    }
    if (e.index !== t.smIndex + 1) {
      throw new SafetyViolation(
        "state-machine-safety",
        `node ${id} applied entry ${e.index} right after ${t.smIndex}`,
      );
    }
    t.smHash = entryChainHash(t.smHash, e);
    t.smIndex = e.index;
    this.registerCommitted(id, e.index, e.term, t.smHash, "apply");
  }

  /** The node's state machine was replaced by snapshot data describing (index, hash). */
  restored(id: number, index: number, term: number, hash: number): void {
    const t = this.track(id);
    if (index <= t.smIndex) {
      throw new SafetyViolation(
        "state-machine-safety",
        `node ${id} restored a snapshot at ${index} over a state machine at ${t.smIndex}`,
      );
    }
    this.registerCommitted(id, index, term, hash, "apply");
    t.smIndex = index;
    t.smHash = hash;
  }

  /** A crash: the volatile state is gone, the core restarts from the durable view. */
  crashed(id: number): void {
    const t = this.track(id);
    t.mem = t.disk.clone();
    t.memCommit = t.diskCommit;
    t.memGuard = t.diskCommit;
    t.checkedLeaderTerm = 0;
  }

  /** A read issued now must be answered at an index no lower than any commit seen so far. */
  readIssued(readId: number): void {
    this.readBounds.set(readId, this.maxCommitEver);
  }

  readAnswered(id: number, readId: number, index: number): void {
    const bound = this.readBounds.get(readId);
    if (bound === undefined) return;
    if (index < bound) {
      throw new SafetyViolation(
        "read-index-linearizable",
        `read ${readId} answered on node ${id} at index ${index}, but ${bound} was committed when it was issued`,
      );
    }
  }
}
