// Core bugs the simulator found, pinned down as direct tests of the core.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MemoryStorage } from "../memory-storage.js";
import { RawNode } from "../rawnode.js";
import { SeededRng } from "../rng.js";
import { type Entry, EntryType, MessageType, makeMessage } from "../types.js";

/** A one-node group that has elected itself and applied its bootstrap. */
function soloLeader(): { raw: RawNode; storage: MemoryStorage } {
  const storage = new MemoryStorage();
  const raw = new RawNode({
    id: 1,
    electionTick: 10,
    heartbeatTick: 1,
    storage,
    maxInflightMsgs: 8,
    rng: new SeededRng(1),
  });
  raw.bootstrap([1]);
  const settle = (): void => {
    while (raw.hasReady()) {
      const rd = raw.ready();
      storage.append(rd.entries);
      if (rd.hardState !== undefined) storage.setHardState(rd.hardState);
      for (const e of rd.committedEntries) {
        if (e.type === EntryType.ConfChange)
          raw.applyConfChange({ type: 0, nodeId: 1, context: new Uint8Array(0) });
      }
      raw.advance(rd);
    }
  };
  settle();
  raw.campaign();
  settle();
  assert.equal(raw.status().role, "leader");
  return { raw, storage };
}

describe("bugs found by the simulator", () => {
  // A proposal forwarded by a follower that later became leader came back to it; the
  // network delivered that message twice, and the leader stamped the same entry objects
  // with new indexes the second time, rewriting entries already in its log.
  test("a proposal that comes back to its forwarder is not stamped in place", () => {
    const { raw } = soloLeader();
    const entry: Entry = { term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array([42]) };
    const bounced = makeMessage({ type: MessageType.MsgProp, from: 1, to: 1, entries: [entry] });
    raw.step(bounced);
    raw.step(bounced);
    assert.equal(entry.index, 0, "the message's entry was modified");
    const appended = raw.ready().entries.filter((e) => e.data.length === 1);
    assert.equal(appended.length, 2);
    assert.equal(appended[1]!.index, appended[0]!.index + 1);
  });
});
