// The properties the whole-node simulator checks. The core simulator's invariant checker
// (election safety, log matching, committed entries stable, leader completeness, state
// machine safety, commit monotonic) is fed with the entries each Ready hands out (the core's
// view, watched-core.ts) and with what the simulated disks see (entries and commits made
// durable, entries applied). Beside it, what only a whole node can get wrong:
//   commit-quorum      a leader moved its commit index to an entry of its own term that a
//                      voter majority does not hold durably (a leader counted its own
//                      append before it was durable), or to an earlier term's entry;
//   ack-uncommitted    a proposal was acknowledged to its client before a voter majority held
//                      it durably (an early-ack pipeline acknowledging too early, an ack before
//                      the persist);
//   acked-lost         at the end, after crashes and restarts, an acknowledged proposal is
//                      missing from a node's committed log, or from an applying node's state;
//   sent-after-failed-sync  a node whose sync failed went on talking instead of stopping;
//   unexpected-fatal   a node failed without a disk fault (a pipeline's invariant broke);
//   liveness           after the faults stop, the group commits new proposals and every node
//                      catches up with everything acknowledged.
import type { Status } from "../raft/api.js";
import { InvariantChecker, SafetyViolation } from "../raft/sim/checker.js";
import type { Entry, Message } from "../raft/types.js";
import { proposalIdOf } from "./proposal-ids.js";
import type { DiskWatch, SimDisk } from "./sim-disk.js";
import type { NetworkWatch } from "./sim-network.js";
import type { Life } from "./virtual-time.js";

/** A broken property; the simulator stops at the first. */
export class PeerSimViolationError extends Error {
  constructor(
    readonly property: string,
    readonly detail: string,
  ) {
    super(`${property}: ${detail}`);
    this.name = "PeerSimViolationError";
  }
}

interface Placed {
  index: number;
  term: number;
}

export class PeerSimChecks implements DiskWatch, NetworkWatch {
  readonly core = new InvariantChecker();
  /** Where each proposal was first handed to a log: the leader's (index, term) for it. */
  private readonly placed = new Map<number, Placed>();
  /** Acknowledged proposals and where they sit. */
  readonly acked = new Map<number, Placed>();
  /** Each running node's role, term and commit at the last observation. */
  private readonly before = new Map<number, { leader: boolean; term: number; commit: number }>();
  /** Lives whose sync failed: they must stop. */
  private readonly failedLives = new Set<Life>();
  /** The first violation; the simulator stops once it is set. */
  violation: PeerSimViolationError | undefined;
  /** Called at every persist step (the nemesis's chance to crash the node inside it). */
  onPersistStep: ((node: number, step: "entries" | "hard-state" | "sync") => void) | undefined;

  constructor(
    private readonly nodes: number,
    private readonly disks: readonly SimDisk[],
  ) {
    for (let id = 1; id <= nodes; id++) this.core.addNode(id);
  }

  /** Runs a check; a violation is recorded (never thrown into the Peer, which would take it as its own failure). */
  guard(check: () => void): void {
    if (this.violation !== undefined) return;
    try {
      check();
    } catch (e) {
      if (e instanceof SafetyViolation)
        this.violation = new PeerSimViolationError(e.invariant, e.detail);
      else if (e instanceof PeerSimViolationError) this.violation = e;
      else throw e;
    }
  }

  fail(property: string, detail: string): void {
    this.guard(() => {
      throw new PeerSimViolationError(property, detail);
    });
  }

  appending(node: number, entries: readonly Entry[]): void {
    this.guard(() => {
      this.core.append(node, "mem", entries);
      for (const e of entries) {
        const id = proposalIdOf(e.data);
        if (id !== undefined && !this.placed.has(id)) {
          this.placed.set(id, { index: e.index, term: e.term });
        }
      }
    });
  }

  durableAppend(node: number, entries: readonly Entry[]): void {
    this.guard(() => this.core.append(node, "disk", entries));
  }

  durableCommit(node: number, commit: number): void {
    this.guard(() => this.core.durableCommit(node, commit));
  }

  applied(node: number, e: Entry): void {
    this.guard(() => this.core.applied(node, e));
  }

  persistStep(node: number, step: "entries" | "hard-state" | "sync"): void {
    this.onPersistStep?.(node, step);
  }

  sent(life: Life, messages: readonly Message[]): void {
    if (this.failedLives.has(life)) {
      this.fail(
        "sent-after-failed-sync",
        `node ${life.node} sent ${messages.length} message(s) after its sync failed`,
      );
    }
  }

  syncFailed(life: Life): void {
    this.failedLives.add(life);
  }

  /** After every event: the node's volatile state as its core reports it. */
  observe(node: number, st: Status): void {
    this.guard(() => {
      const leader = st.role === "leader";
      this.core.observeState(node, st.term, leader, st.commit);
      if (leader) this.core.leaderLog(node, st.term);
      const b = this.before.get(node);
      if (leader && b?.leader === true && b.term === st.term && st.commit > b.commit) {
        this.commitMoved(node, st.term, st.commit);
      }
      this.before.set(node, { leader, term: st.term, commit: st.commit });
    });
  }

  /**
   * A leader moved its commit index to `commit` in its term: that entry is of its own term
   * (Raft §5.4.2) and a voter majority holds it durably, judged from the disks, not from the
   * leader's bookkeeping. The leader itself may not have started writing it yet (the
   * async-storage pipeline's append worker may be busy): a majority of followers suffices.
   */
  private commitMoved(node: number, term: number, commit: number): void {
    const own = this.core.view(node, "mem");
    if (own.has(commit) && own.termAt(commit) !== term) {
      throw new PeerSimViolationError(
        "commit-own-term",
        `leader ${node} of term ${term} committed ${commit}, an entry of term ${own.termAt(commit)}`,
      );
    }
    const holders: number[] = [];
    for (let id = 1; id <= this.nodes; id++) {
      const disk = this.core.view(id, "disk");
      if (disk.has(commit) && disk.termAt(commit) === term) holders.push(id);
    }
    if (holders.length < Math.floor(this.nodes / 2) + 1) {
      throw new PeerSimViolationError(
        "commit-quorum",
        `leader ${node} of term ${term} committed ${commit}, but only [${holders.join(",")}] of ${this.nodes} voters hold (${commit}, term ${term}) durably`,
      );
    }
  }

  crashed(node: number): void {
    this.before.delete(node);
    this.guard(() => this.core.crashed(node));
  }

  /** Holders of (index, term) of proposal `id` among the durable logs. */
  private durableHolders(id: number, at: Placed): number {
    let n = 0;
    for (const d of this.disks) {
      const e = d.durableLog[at.index - 1];
      if (e !== undefined && e.term === at.term && proposalIdOf(e.data) === id) n++;
    }
    return n;
  }

  /** Node `node` acknowledged proposal `id` to its client. */
  ackedBy(node: number, id: number): void {
    this.guard(() => {
      const at = this.placed.get(id);
      const holders = at === undefined ? 0 : this.durableHolders(id, at);
      const quorum = Math.floor(this.nodes / 2) + 1;
      if (at === undefined || holders < quorum) {
        throw new PeerSimViolationError(
          "ack-uncommitted",
          `node ${node} acknowledged proposal ${id}${at === undefined ? " (in no log yet)" : ` at index ${at.index} term ${at.term}`} ` +
            `while ${holders} of ${this.nodes} voters held it durably (a quorum is ${quorum})`,
        );
      }
      this.acked.set(id, at);
    });
  }

  /**
   * The end of a run, after the quiet phase: every acknowledged proposal is in every node's
   * log where it was placed, committed there, and in the state of every node that applies.
   */
  finalCheck(
    views: readonly {
      node: number;
      log: readonly Entry[];
      commit: number;
      applied: number;
      appliedIds: ReadonlySet<number>;
      applies: boolean;
    }[],
  ): void {
    this.guard(() => {
      for (const [id, at] of this.acked) {
        for (const v of views) {
          const e = v.log[at.index - 1];
          if (e === undefined || e.term !== at.term || proposalIdOf(e.data) !== id) {
            const what = e === undefined ? "nothing" : `term ${e.term}`;
            throw new PeerSimViolationError(
              v.commit >= at.index ? "acked-lost" : "liveness",
              `acknowledged proposal ${id} (index ${at.index}, term ${at.term}) is missing from ` +
                `node ${v.node}'s log (it holds ${what} there; commit ${v.commit})`,
            );
          }
          if (v.commit < at.index) {
            throw new PeerSimViolationError(
              "liveness",
              `node ${v.node} has not committed acknowledged index ${at.index} by the end (commit ${v.commit})`,
            );
          }
          if (v.applies && (v.applied < at.index || !v.appliedIds.has(id))) {
            throw new PeerSimViolationError(
              v.applied < at.index ? "liveness" : "acked-lost",
              `node ${v.node}'s state lacks acknowledged proposal ${id} (index ${at.index}; applied ${v.applied})`,
            );
          }
        }
      }
    });
  }
}
