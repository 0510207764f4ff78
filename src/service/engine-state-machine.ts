// The service's state machine over a node's real engine (mem or lmdb): writes encode as
// commands of the proposal format (src/proposal/command.ts), the engine applies them on every
// node and reports each result to its apply listener, reads come from the engine's view, and
// member addresses from the engine's reserved metadata (which snapshots carry to a joiner).
import { encodeCommand } from "../proposal/command.js";
import type { Engine } from "../storage/engine/engine.js";
import type { KvReadView, KvResult, KvWrite } from "./contract.js";
import type { MemberAddresses, ProposalId, ServiceStateMachine } from "./state-machine.js";

type AppliedListener = (id: ProposalId, index: number, result: KvResult) => void;
type MemberListener = (member: number, addresses: MemberAddresses) => void;

export class EngineStateMachine implements ServiceStateMachine {
  private readonly applied: AppliedListener[] = [];
  private readonly memberListeners: MemberListener[] = [];
  /** The addresses last told to member listeners, to tell only what changed. */
  private told = new Map<number, string>();

  /** Becomes `engine`'s one apply listener. */
  constructor(private readonly engine: Engine) {
    engine.setApplyListener({
      onApplied: (id, index, result) => {
        for (const l of this.applied) l(id, index, result);
      },
      onMembersChanged: () => this.tellMembers(),
    });
    this.told = this.current();
  }

  encodeWrite(id: ProposalId, write: KvWrite): Uint8Array {
    return encodeCommand(id, write);
  }

  encodeMember(id: ProposalId, member: number, addresses: MemberAddresses): Uint8Array {
    const kept: MemberAddresses = {};
    if (addresses.raft !== undefined) kept.raft = addresses.raft;
    if (addresses.resp !== undefined) kept.resp = addresses.resp;
    if (addresses.http !== undefined) kept.http = addresses.http;
    return encodeCommand(id, { op: "member-addresses", id: member, addresses: kept });
  }

  onApplied(listener: AppliedListener): void {
    this.applied.push(listener);
  }

  onMember(listener: MemberListener): void {
    this.memberListeners.push(listener);
  }

  view(): KvReadView {
    return this.engine.readView();
  }

  members(): ReadonlyMap<number, MemberAddresses> {
    return this.engine.memberAddresses();
  }

  private current(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [id, a] of this.engine.memberAddresses()) out.set(id, JSON.stringify(a));
    return out;
  }

  private tellMembers(): void {
    const now = this.current();
    const before = this.told;
    this.told = now;
    for (const [id, a] of now) {
      if (before.get(id) === a) continue;
      const addresses = this.engine.memberAddresses().get(id)!;
      for (const l of this.memberListeners) l(id, addresses);
    }
  }
}
