// Commit coalescing (PeerOptions.coalesceCommitAppends): a leader's entry-less MsgApp only
// carries a new commit index. It is held for one loop turn and dropped if the next turn
// sends that follower entries anyway (they carry the commit too), which under load saves a
// message and its response per follower per batch; followers learn the commit one turn
// later. One coalescer per incarnation: what an old epoch held is never sent.
import { type Message, MessageType } from "../raft/types.js";

export class CommitCoalescer {
  /** The held commit-only MsgApp by destination, with the turn that produced it. */
  private readonly held = new Map<number, { m: Message; turn: number }>();

  /** Commit-only MsgApps held now. */
  get size(): number {
    return this.held.size;
  }

  /**
   * What of `messages` (produced in `turn`) to send now: commit-only MsgApps are held
   * instead (a later one replaces an earlier one for the same follower), and a MsgApp with
   * entries drops the one held for its follower. Returns `messages` itself when nothing is
   * held back.
   */
  filter(messages: readonly Message[], turn: number): readonly Message[] {
    let out: Message[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.type === MessageType.MsgApp) {
        if (m.entries.length === 0) {
          this.held.set(m.to, { m, turn });
          out ??= messages.slice(0, i);
          continue;
        }
        // Entries carry the commit index too: the held one has nothing left to say.
        this.held.delete(m.to);
      }
      out?.push(m);
    }
    return out ?? messages;
  }

  /** Takes the held messages produced before turn `before` (all with +Infinity). */
  takeDue(before: number): Message[] {
    const out: Message[] = [];
    if (this.held.size === 0) return out;
    for (const [to, h] of this.held) {
      if (h.turn >= before) continue;
      out.push(h.m);
      this.held.delete(to);
    }
    return out;
  }
}
