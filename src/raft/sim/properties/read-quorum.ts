// Every answered ReadIndex was confirmed by a voter quorum of the answering leader's term
// after the read arrived at that leader. The property keeps its own account, from the
// messages the network delivers: when each read reached a leader (an order number within
// the leader's term), and for each voter the newest read whose heartbeat it acknowledged
// in that term. A heartbeat carrying read r' was sent after r' arrived, so acknowledging
// it confirms every read that arrived up to r'. When a leader answers (a MsgReadIndexResp
// it sends, or a read state of its own Ready), the voters confirming the read, the leader
// included, must be a majority of a configuration the leader had between the read's
// arrival and the answer.
import { type Message, MessageType } from "../../types.js";
import { SafetyViolation } from "../checker.js";
import type { SimNode } from "../sim-node.js";
import { readIdOf } from "../workload.js";
import { type Property, type PropertyContext, quorum, votersOf } from "./context.js";

/** One leader's reads and acknowledgements within one term. */
interface Leadership {
  term: number;
  /** Arrival order of each read (its first arrival). */
  arrived: Map<number, number>;
  nextOrder: number;
  /** Per voter: the highest arrival order its heartbeat acknowledgements confirm. */
  confirmed: Map<number, number>;
  /** Voter sets in force, each with the arrival order from which it held. */
  configs: { from: number; voters: number[] }[];
}

export class ReadQuorum implements Property {
  /** Per leader: its current and previous leadership (answers may trail a term change). */
  private readonly current = new Map<number, Leadership>();
  private readonly previous = new Map<number, Leadership>();
  /**
   * Answers from another node's leader delivered and not yet seen as read states, per
   * node * 2^32 + read id (the network may deliver an answer twice).
   */
  private readonly answeredRemotely = new Map<number, number>();

  constructor(private readonly ctx: PropertyContext) {}

  private leadership(node: SimNode, term: number): Leadership | undefined {
    const cur = this.current.get(node.id);
    if (cur?.term === term) return cur;
    const prev = this.previous.get(node.id);
    return prev?.term === term ? prev : undefined;
  }

  /** The leadership of `node` in its current term, started if new. */
  private leading(node: SimNode): Leadership {
    const cur = this.current.get(node.id);
    if (cur?.term === node.term) return cur;
    if (cur !== undefined) this.previous.set(node.id, cur);
    const fresh: Leadership = {
      term: node.term,
      arrived: new Map(),
      nextOrder: 1,
      confirmed: new Map(),
      configs: [{ from: 0, voters: votersOf(node) }],
    };
    this.current.set(node.id, fresh);
    return fresh;
  }

  private arrive(node: SimNode, readId: number): void {
    if (readId < 0 || !node.isLeader) return;
    const l = this.leading(node);
    if (!l.arrived.has(readId)) l.arrived.set(readId, l.nextOrder++);
  }

  readIssued(node: SimNode, readId: number): void {
    this.arrive(node, readId);
  }

  delivered(node: SimNode, m: Message): void {
    if (m.type === MessageType.MsgReadIndex && m.entries.length === 1) {
      this.arrive(node, readIdOf(m.entries[0]!.data));
      return;
    }
    if (m.type === MessageType.MsgReadIndexResp && m.entries.length === 1) {
      const key = node.id * 0x1_0000_0000 + readIdOf(m.entries[0]!.data);
      this.answeredRemotely.set(key, (this.answeredRemotely.get(key) ?? 0) + 1);
      return;
    }
    if (m.type !== MessageType.MsgHeartbeatResp || !node.isLeader || m.term !== node.term) return;
    const l = this.leading(node);
    const order = l.arrived.get(readIdOf(m.context));
    if (order === undefined) return;
    if ((l.confirmed.get(m.from) ?? 0) < order) l.confirmed.set(m.from, order);
  }

  confApplied(node: SimNode): void {
    if (!node.isLeader) return;
    const l = this.leading(node);
    l.configs.push({ from: l.nextOrder, voters: votersOf(node) });
  }

  sent(m: Message): void {
    if (m.type !== MessageType.MsgReadIndexResp || m.entries.length !== 1) return;
    this.check(this.ctx.world.node(m.from), m.term, readIdOf(m.entries[0]!.data));
  }

  readAnswered(node: SimNode, readId: number): void {
    // A remote answer was checked when its leader sent it; a local one was given by this
    // node as leader, in its current term or the one before.
    if (readId < 0) return;
    const key = node.id * 0x1_0000_0000 + readId;
    const remote = this.answeredRemotely.get(key) ?? 0;
    if (remote > 0) {
      if (remote === 1) this.answeredRemotely.delete(key);
      else this.answeredRemotely.set(key, remote - 1);
      return;
    }
    const cur = this.current.get(node.id);
    const prev = this.previous.get(node.id);
    const term = cur?.arrived.has(readId) ? cur.term : prev?.arrived.has(readId) ? prev.term : -1;
    if (term < 0) {
      throw new SafetyViolation(
        "read-index-quorum",
        `node ${node.id} answered read ${readId}, which never reached it while it was leader`,
      );
    }
    this.check(node, term, readId);
  }

  private check(leader: SimNode, term: number, readId: number): void {
    if (readId < 0) return;
    const l = this.leadership(leader, term);
    const order = l?.arrived.get(readId);
    if (l === undefined || order === undefined) {
      throw new SafetyViolation(
        "read-index-quorum",
        `leader ${leader.id} answered read ${readId} in term ${term}, but the read never reached it in that term`,
      );
    }
    const confirming = [leader.id];
    for (const [id, upTo] of l.confirmed)
      if (upTo >= order && id !== leader.id) confirming.push(id);
    // The configurations in force from the read's arrival to now.
    let first = 0;
    for (let i = 0; i < l.configs.length; i++) if (l.configs[i]!.from <= order) first = i;
    for (let i = first; i < l.configs.length; i++) {
      const voters = l.configs[i]!.voters;
      const yes = voters.filter((id) => confirming.includes(id)).length;
      if (yes >= quorum(voters.length)) return;
    }
    throw new SafetyViolation(
      "read-index-quorum",
      `leader ${leader.id} of term ${term} answered read ${readId} confirmed only by ` +
        `[${confirming.join(",")}] after it arrived; voters [${l.configs[l.configs.length - 1]!.voters.join(",")}]`,
    );
  }
}
