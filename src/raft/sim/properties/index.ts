// The properties checked beside the checker's safety invariants, each in a module of its
// own, behind one fan-out that node I/O and the workload call. Each property throws a
// SafetyViolation naming itself.
import type { Status } from "../../api.js";
import type { Message } from "../../types.js";
import type { SimNode } from "../sim-node.js";
import { CalmTerms } from "./calm-terms.js";
import { CheckQuorumStepDown } from "./check-quorum-step-down.js";
import { CommitQuorum } from "./commit-quorum.js";
import type { Before, Property, PropertyContext } from "./context.js";
import { MatchAgreement } from "./match-agreement.js";
import { ReadQuorum } from "./read-quorum.js";
import { TransferCompletes } from "./transfer-completes.js";

export type { Before, PropertyContext } from "./context.js";

export class Properties implements Required<Property> {
  private readonly all: Property[];

  constructor(ctx: PropertyContext) {
    this.all = [
      new CommitQuorum(ctx),
      new MatchAgreement(ctx),
      new ReadQuorum(ctx),
      new CalmTerms(ctx),
      new CheckQuorumStepDown(ctx),
      new TransferCompletes(ctx),
    ];
  }

  delivered(node: SimNode, m: Message): void {
    for (const p of this.all) p.delivered?.(node, m);
  }

  observed(node: SimNode, st: Status, before: Before): void {
    for (const p of this.all) p.observed?.(node, st, before);
  }

  confApplied(node: SimNode): void {
    for (const p of this.all) p.confApplied?.(node);
  }

  readIssued(node: SimNode, readId: number): void {
    for (const p of this.all) p.readIssued?.(node, readId);
  }

  readAnswered(node: SimNode, readId: number): void {
    for (const p of this.all) p.readAnswered?.(node, readId);
  }

  sent(m: Message): void {
    for (const p of this.all) p.sent?.(m);
  }

  ticked(): void {
    for (const p of this.all) p.ticked?.();
  }

  transferRequested(leader: SimNode, to: number): void {
    for (const p of this.all) p.transferRequested?.(leader, to);
  }
}
