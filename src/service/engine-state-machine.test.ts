import assert from "node:assert/strict";
import { test } from "node:test";
import { type Entry, EntryType } from "../raft/types.js";
import { MemEngine } from "../storage/engine/mem-engine.js";
import type { KvResult } from "./contract.js";
import { EngineStateMachine } from "./engine-state-machine.js";

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

test("engine state machine: results and member changes reach the backend's listeners", async () => {
  const engine = new MemEngine();
  const sm = new EngineStateMachine(engine);
  const results: [number, number, KvResult][] = [];
  const members: [number, unknown][] = [];
  sm.onApplied((id, index, r) => results.push([id, index, r]));
  sm.onMember((id, a) => members.push([id, a]));
  let index = 0;
  const entry = (data: Uint8Array): Entry => ({
    index: ++index,
    term: 1,
    type: EntryType.Normal,
    data,
  });
  await engine.applyEntries([
    entry(sm.encodeWrite(7, { op: "set", key: b("k"), value: b("v") })),
    entry(sm.encodeMember(8, 2, { raft: "r:1", resp: "127.0.0.1:6379", http: "127.0.0.1:8080" })),
    entry(sm.encodeWrite(9, { op: "incrby", key: b("n"), by: 3n })),
  ]);
  assert.deepEqual(results, [
    [7, 1, { kind: "ok" }],
    [8, 2, { kind: "ok" }],
    [9, 3, { kind: "integer", value: 3n }],
  ]);
  assert.deepEqual(members, [[2, { raft: "r:1", resp: "127.0.0.1:6379", http: "127.0.0.1:8080" }]]);
  assert.deepEqual(new TextDecoder().decode(sm.view().get(b("k"))!), "v");
  // The same addresses again: nothing changed, nobody is told.
  await engine.applyEntries([
    entry(sm.encodeMember(10, 2, { raft: "r:1", resp: "127.0.0.1:6379", http: "127.0.0.1:8080" })),
  ]);
  assert.equal(members.length, 1);
  // A restore that brings other addresses tells them.
  const other = new MemEngine();
  await other.applyEntries([
    { index: 1, term: 1, type: EntryType.Normal, data: sm.encodeMember(1, 3, { http: "h:3" }) },
  ]);
  await engine.restore(await other.snapshot());
  assert.deepEqual(members.at(-1), [3, { http: "h:3" }]);
  assert.deepEqual([...sm.members()], [[3, { http: "h:3" }]]);
});
