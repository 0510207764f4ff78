// The backend's ReadIndex rounds over a scripted Peer: which reads share a round, when the
// next round is asked for, and that no read is answered by a round asked for before it came.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ReadState, Role } from "../raft/api.js";
import type { ConfState } from "../raft/types.js";
import { MemEngine } from "../storage/engine/mem-engine.js";
import type { KvReadView, ReadCallbacks } from "./contract.js";
import { EngineStateMachine } from "./engine-state-machine.js";
import { NodeBackend, type ServiceHooks, type ServicePeer } from "./node-backend.js";

/** A Peer whose read rounds the test takes and answers by hand. */
class ScriptedPeer implements ServicePeer {
  lead = 1;
  roundRequests = 0;
  constructor(readonly hooks: ServiceHooks) {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  submitBatch(): void {}
  requestReadRound(): void {
    this.roundRequests++;
  }
  proposeConfChange(): void {}
  confState(): ConfState {
    return { voters: [1, 2, 3], learners: [] };
  }
  leadership(): { lead: number; role: Role } {
    return { lead: this.lead, role: this.lead === 1 ? "leader" : "follower" };
  }
  status(): ReturnType<ServicePeer["status"]> {
    throw new Error("not scripted");
  }
  /** What the loop's turn does: takes the round's context (undefined: no read waits). */
  takeRound(): Uint8Array | undefined {
    return this.hooks.takeReadRound();
  }
  answer(ctx: Uint8Array, index: number): void {
    const states: ReadState[] = [{ index, requestCtx: ctx }];
    this.hooks.onReadStates(states);
  }
}

async function scripted(): Promise<{ backend: NodeBackend; peer: ScriptedPeer }> {
  let peer: ScriptedPeer | undefined;
  const backend = new NodeBackend({
    id: 1,
    createPeer: (hooks) => {
      peer = new ScriptedPeer(hooks);
      return peer;
    },
    bootstrap: true,
    stateMachine: new EngineStateMachine(new MemEngine()),
    appliedIndex: () => 10,
    self: { raft: "127.0.0.1:1" },
    learnAddress: () => {},
    // Long ticks: the housekeeping timer stays out of the script.
    tickMs: 60_000,
    electionTicks: 10,
  });
  await backend.start();
  return { backend, peer: peer as ScriptedPeer };
}

/** A linearizable read whose answer the test can look at without awaiting it. */
function reader(backend: NodeBackend): { answered: () => boolean; failed: () => unknown } {
  let view: KvReadView | undefined;
  let error: unknown;
  const to: ReadCallbacks = {
    view: (v) => {
      view = v;
    },
    fail: (e) => {
      error = e;
    },
  };
  backend.readWith("linearizable", to);
  return { answered: () => view !== undefined, failed: () => error };
}

describe("NodeBackend read rounds", () => {
  it("reads arriving while a round is out wait for the next one, asked once it is answered", async () => {
    const { backend, peer } = await scripted();
    const a = reader(backend);
    assert.equal(peer.roundRequests, 1);
    const first = peer.takeRound();
    assert.ok(first !== undefined);
    const b = reader(backend);
    const c = reader(backend);
    // One round out unanswered: no second one yet, however many reads arrive.
    assert.equal(peer.roundRequests, 1);
    peer.answer(first, 5);
    assert.ok(a.answered());
    // The first round was asked for before b and c arrived: it must not answer them.
    assert.ok(!b.answered() && !c.answered());
    assert.equal(peer.roundRequests, 2);
    const second = peer.takeRound();
    assert.ok(second !== undefined);
    peer.answer(second, 7);
    assert.ok(b.answered() && c.answered());
    // Nothing waits: no round is asked for.
    assert.equal(peer.roundRequests, 2);
    await backend.stop();
  });

  it("a round answered at an index not yet applied holds its reads until it is", async () => {
    const { backend, peer } = await scripted();
    const a = reader(backend);
    const ctx = peer.takeRound() as Uint8Array;
    peer.answer(ctx, 11);
    assert.ok(!a.answered());
    await backend.stop();
    assert.ok(a.failed() !== undefined);
  });

  it("asks the new leader at once for a round the old one left unanswered", async () => {
    const { backend, peer } = await scripted();
    const a = reader(backend);
    const lost = peer.takeRound() as Uint8Array;
    peer.lead = 2;
    peer.hooks.onProgress();
    assert.equal(peer.roundRequests, 2);
    const again = peer.takeRound() as Uint8Array;
    // The old leader's late answer is not taken for the new round's.
    peer.answer(lost, 5);
    assert.ok(!a.answered());
    peer.answer(again, 5);
    assert.ok(a.answered());
    await backend.stop();
  });

  it("answers a stale read inside the call", async () => {
    const { backend, peer } = await scripted();
    let view: KvReadView | undefined;
    backend.readWith("stale", { view: (v) => (view = v), fail: assert.fail });
    assert.ok(view !== undefined);
    assert.equal(peer.roundRequests, 0);
    await backend.stop();
  });
});
