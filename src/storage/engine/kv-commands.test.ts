// Every key-value command and result over both engines: the semantics (Redis's), binary-safe
// keys and values, reads through the view, member metadata, results reported to the apply
// listener, snapshots across engines and a restart of lmdb; then a seeded property test
// against a reference model written separately from kv-apply.ts.
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { encodeCommand } from "../../proposal/command.js";
import type { KvResult, KvWrite, StateCommand } from "../../proposal/kv.js";
import { encodeProposal } from "../../proposal/proposal.js";
import { SeededRng } from "../../raft/rng.js";
import { type Entry, EntryType } from "../../raft/types.js";
import { openLmdbStorage } from "../lmdb-storage.js";
import type { Engine } from "./engine.js";
import { openLmdbEngine } from "./lmdb-engine.js";
import { MemEngine } from "./mem-engine.js";

const enc = new TextEncoder();
const b = (s: string): Uint8Array => enc.encode(s);
const str = (u: Uint8Array | null): string | null =>
  u === null ? null : Buffer.from(u).toString("latin1");

/** An engine under test with a log of its own: commands become entries, results are kept. */
class Harness {
  index = 0;
  readonly results: { id: number; index: number; result: KvResult }[] = [];
  constructor(public engine: Engine) {
    engine.setApplyListener({
      onApplied: (id, index, result) => this.results.push({ id, index, result }),
    });
  }

  entry(data: Uint8Array): Entry {
    return { index: ++this.index, term: 1, type: EntryType.Normal, data };
  }

  /** Applies commands as one batch; the results, in order. */
  async apply(...commands: StateCommand[]): Promise<KvResult[]> {
    const from = this.results.length;
    await this.engine.applyEntries(
      commands.map((c) => this.entry(encodeCommand(this.index + 1, c))),
    );
    return this.results.slice(from).map((r) => r.result);
  }

  async one(c: StateCommand): Promise<KvResult> {
    const [r] = await this.apply(c);
    return r!;
  }

  put(key: string, value: string): Entry {
    return this.entry(encodeProposal({ id: this.index + 1, key: b(key), value: b(value) }));
  }
}

type Open = (dir: string) => Promise<Engine>;
const engines: [string, Open][] = [
  ["mem", async () => new MemEngine()],
  ["lmdb", (dir) => openLmdbEngine({ dir })],
];

async function withDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-kv-"));
  try {
    return await body(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function withHarness(open: Open, body: (h: Harness, dir: string) => Promise<void>) {
  await withDir(async (dir) => {
    const h = new Harness(await open(dir));
    try {
      await body(h, dir);
    } finally {
      await h.engine.close();
    }
  });
}

const ok: KvResult = { kind: "ok" };
const int = (n: number | bigint): KvResult => ({ kind: "integer", value: BigInt(n) });
const bulk = (s: string | null): KvResult => ({ kind: "bulk", value: s === null ? null : b(s) });
const wrongType = (r: KvResult) => r.kind === "error" && r.code === "wrong-type";

/** Results with byte values as latin1 strings, for deepEqual (Buffer vs Uint8Array). */
function norm(r: KvResult): unknown {
  return r.kind === "bulk" ? { kind: "bulk", value: str(r.value) } : r;
}
function normAll(rs: KvResult[]): unknown[] {
  return rs.map(norm);
}

for (const [name, open] of engines) {
  describe(`kv commands: ${name}`, () => {
    test("set, NX/XX, mset, del report what Redis replies", () =>
      withHarness(open, async (h) => {
        const v = h.engine.readView();
        assert.deepEqual(
          normAll(
            await h.apply(
              { op: "set", key: b("a"), value: b("1") },
              { op: "set", key: b("a"), value: b("2"), condition: "nx" },
              { op: "set", key: b("b"), value: b("3"), condition: "xx" },
              { op: "set", key: b("a"), value: b("4"), condition: "xx" },
              { op: "set", key: b("c"), value: b("5"), condition: "nx" },
              {
                op: "mset",
                pairs: [
                  [b("d"), b("6")],
                  [b("a"), b("7")],
                ],
              },
              { op: "del", keys: [b("c"), b("nope"), b("d"), b("c")] },
            ),
          ),
          normAll([ok, { kind: "not-set" }, { kind: "not-set" }, ok, ok, ok, int(2)]),
        );
        assert.equal(str(v.get(b("a"))), "7");
        assert.equal(v.get(b("b")), null);
        assert.equal(v.get(b("c")), null);
        assert.equal(v.exists(b("a")), true);
        assert.equal(v.exists(b("d")), false);
        assert.equal(v.size(), 1);
      }));

    test("incrby: absent is 0, non-integers and overflow are error results that change nothing", () =>
      withHarness(open, async (h) => {
        const rs = await h.apply(
          { op: "incrby", key: b("n"), by: 5n },
          { op: "incrby", key: b("n"), by: -7n },
          { op: "set", key: b("s"), value: b("12a") },
          { op: "incrby", key: b("s"), by: 1n },
          { op: "set", key: b("big"), value: b("9223372036854775807") },
          { op: "incrby", key: b("big"), by: 1n },
          { op: "set", key: b("min"), value: b("-9223372036854775808") },
          { op: "incrby", key: b("min"), by: -1n },
          { op: "incrby", key: b("min"), by: 9223372036854775807n },
          { op: "set", key: b("lz"), value: b("007") },
          { op: "incrby", key: b("lz"), by: 1n },
          { op: "set", key: b("sp"), value: b(" 1") },
          { op: "incrby", key: b("sp"), by: 1n },
          { op: "set", key: b("huge"), value: b("9223372036854775808") },
          { op: "incrby", key: b("huge"), by: 0n },
        );
        const codes = rs.map((r) =>
          r.kind === "error" ? r.code : r.kind === "integer" ? r.value : r.kind,
        );
        assert.deepEqual(codes, [
          5n,
          -2n,
          "ok",
          "not-integer",
          "ok",
          "overflow",
          "ok",
          "overflow",
          -1n,
          "ok",
          "not-integer",
          "ok",
          "not-integer",
          "ok",
          "not-integer",
        ]);
        const v = h.engine.readView();
        assert.equal(str(v.get(b("n"))), "-2");
        assert.equal(str(v.get(b("big"))), "9223372036854775807");
        assert.equal(str(v.get(b("min"))), "-1");
        assert.equal(str(v.get(b("s"))), "12a");
      }));

    test("lists: push and pop at both ends, last pop removes the key, wrong types refused", () =>
      withHarness(open, async (h) => {
        const v = h.engine.readView();
        const rs = await h.apply(
          { op: "push", key: b("q"), values: [b("a"), b("b")], end: "left" }, // b a
          { op: "push", key: b("q"), values: [b("c")], end: "right" }, // b a c
          { op: "pop", key: b("q"), end: "left" },
          { op: "pop", key: b("q"), end: "right" },
          { op: "set", key: b("s"), value: b("x") },
          { op: "push", key: b("s"), values: [b("y")], end: "left" },
          { op: "pop", key: b("s"), end: "left" },
          { op: "incrby", key: b("q"), by: 1n },
          { op: "pop", key: b("absent"), end: "right" },
        );
        assert.deepEqual(normAll(rs.slice(0, 4)), normAll([int(2), int(3), bulk("b"), bulk("c")]));
        assert.ok(wrongType(rs[5]!) && wrongType(rs[6]!) && wrongType(rs[7]!));
        assert.deepEqual(norm(rs[8]!), norm(bulk(null)));
        // GET on a list: null, and listLength tells it from an absent key.
        assert.equal(v.get(b("q")), null);
        assert.equal(v.listLength(b("q")), 1);
        assert.equal(v.listLength(b("s")), null);
        assert.equal(v.listLength(b("absent")), 0);
        assert.equal(v.exists(b("q")), true);
        assert.deepEqual(v.keys(b("*")).map(str), ["q", "s"]);
        assert.equal(v.size(), 2);
        assert.deepEqual(
          norm(await h.one({ op: "pop", key: b("q"), end: "left" })),
          norm(bulk("a")),
        );
        assert.equal(v.exists(b("q")), false);
        assert.equal(v.size(), 1);
        // SET replaces a list; DEL removes one and counts it.
        await h.apply(
          { op: "push", key: b("l1"), values: [b("1"), b("2")], end: "right" },
          { op: "push", key: b("l2"), values: [b("1")], end: "right" },
        );
        assert.deepEqual(
          normAll(
            await h.apply(
              { op: "set", key: b("l1"), value: b("now a string") },
              { op: "del", keys: [b("l2"), b("s")] },
              { op: "push", key: b("l2"), values: [], end: "left" },
            ),
          ),
          normAll([ok, int(2), int(0)]),
        );
        assert.equal(str(v.get(b("l1"))), "now a string");
        assert.equal(v.listLength(b("l2")), 0);
        assert.deepEqual(v.keys(b("*")).map(str), ["l1"]);
      }));

    test("plain puts and commands interleave in log order, also within one batch", () =>
      withHarness(open, async (h) => {
        await h.engine.applyEntries([h.put("n", "10")]);
        assert.deepEqual(norm(await h.one({ op: "incrby", key: b("n"), by: 1n })), norm(int(11)));
        await h.engine.applyEntries([
          h.put("n", "20"),
          h.entry(encodeCommand(99, { op: "incrby", key: b("n"), by: 2n })),
          h.entry(encodeCommand(100, { op: "push", key: b("q"), values: [b("x")], end: "left" })),
          h.put("q", "a string again"),
        ]);
        const v = h.engine.readView();
        assert.equal(str(v.get(b("n"))), "22");
        assert.equal(str(v.get(b("q"))), "a string again");
        assert.equal(v.listLength(b("q")), null);
        // Plain puts reported nothing; the commands reported their ids and indexes in order.
        assert.deepEqual(
          h.results.map((r) => [r.id, r.index]),
          [
            [2, 2],
            [99, 4],
            [100, 5],
          ],
        );
      }));

    test("binary-safe keys and values (\\r\\n, 0 bytes, 0xff) and empty ones", () =>
      withHarness(open, async (h) => {
        const keys = [
          Uint8Array.of(0),
          Uint8Array.of(0, 0),
          b("a\r\nb"),
          Uint8Array.of(0xff, 0, 0xff),
          new Uint8Array(0),
          new Uint8Array(300).fill(0),
        ];
        for (const [i, k] of keys.entries()) {
          await h.one({ op: "set", key: k, value: Uint8Array.of(i, 13, 10, 0, 255) });
        }
        await h.one({
          op: "push",
          key: Uint8Array.of(0, 13),
          values: [Uint8Array.of(0, 10)],
          end: "left",
        });
        const v = h.engine.readView();
        for (const [i, k] of keys.entries()) {
          assert.deepEqual([...v.get(k)!], [i, 13, 10, 0, 255], `key ${[...k]}`);
        }
        assert.equal(v.size(), keys.length + 1);
        const all = v.keys(b("*"));
        const expected = [...keys, Uint8Array.of(0, 13)].sort(Buffer.compare);
        assert.deepEqual(
          all.map((k) => [...k]),
          expected.map((k) => [...k]),
        );
        assert.deepEqual(
          v.scanPrefix(Uint8Array.of(0), 10).map(([k, val]) => [[...k], val[0]]),
          [
            [[0], 0],
            [[0, 0], 1],
            [[...new Uint8Array(300)], 5],
          ],
        );
        assert.deepEqual(
          norm(await h.one({ op: "pop", key: Uint8Array.of(0, 13), end: "right" })),
          {
            kind: "bulk",
            value: "\u0000\n",
          },
        );
      }));

    test("keys() with globs, scanPrefix() with limits, in byte order", () =>
      withHarness(open, async (h) => {
        const names = [
          "hello",
          "hallo",
          "hxllo",
          "hllo",
          "heeeello",
          "h*llo",
          "h[a]llo",
          "user:1",
          "user:2",
          "user:10",
          "x",
        ];
        await h.one({ op: "mset", pairs: names.map((n) => [b(n), b(`v-${n}`)]) });
        await h.one({ op: "push", key: b("user:list"), values: [b("1")], end: "left" });
        const v = h.engine.readView();
        const keys = (p: string) => v.keys(b(p)).map(str);
        assert.deepEqual(keys("h?llo"), ["h*llo", "hallo", "hello", "hxllo"]);
        assert.deepEqual(keys("h*llo"), [
          "h*llo",
          "h[a]llo",
          "hallo",
          "heeeello",
          "hello",
          "hllo",
          "hxllo",
        ]);
        assert.deepEqual(keys("h[ae]llo"), ["hallo", "hello"]);
        assert.deepEqual(keys("h[^e]llo"), ["h*llo", "hallo", "hxllo"]);
        assert.deepEqual(keys("h[a-b]llo"), ["hallo"]);
        assert.deepEqual(keys("h\\*llo"), ["h*llo"]);
        assert.deepEqual(keys("h\\[a\\]llo"), ["h[a]llo"]);
        assert.deepEqual(keys("user:*"), ["user:1", "user:10", "user:2", "user:list"]);
        assert.deepEqual(keys("nothing*"), []);
        assert.deepEqual(keys("x"), ["x"]);
        assert.deepEqual(
          v.scanPrefix(b("user:"), 2).map(([k, val]) => [str(k), str(val)]),
          [
            ["user:1", "v-user:1"],
            ["user:10", "v-user:10"],
          ],
        );
        // Lists have no string value: a scan skips them.
        assert.deepEqual(
          v.scanPrefix(b("user:"), 10).map(([k]) => str(k)),
          ["user:1", "user:10", "user:2"],
        );
        assert.deepEqual(v.scanPrefix(b("user:"), 0), []);
      }));

    test("member metadata: applied, reported, never a key, kept by snapshots", () =>
      withHarness(open, async (h) => {
        await h.apply(
          {
            op: "member-addresses",
            id: 1,
            addresses: { resp: "127.0.0.1:6379", http: "127.0.0.1:8080" },
          },
          { op: "member-addresses", id: 2, addresses: { resp: "127.0.0.1:6380" } },
          { op: "set", key: b("k"), value: b("v") },
          { op: "member-addresses", id: 3, addresses: { http: "h:3" } },
          { op: "forget-member", id: 3 },
        );
        assert.equal(h.results.length, 5);
        assert.ok(h.results.every((r) => r.result.kind === "ok"));
        const expected = [
          [1, { resp: "127.0.0.1:6379", http: "127.0.0.1:8080" }],
          [2, { resp: "127.0.0.1:6380" }],
        ];
        assert.deepEqual([...h.engine.memberAddresses()], expected);
        const v = h.engine.readView();
        assert.deepEqual(v.keys(b("*")).map(str), ["k"]);
        assert.equal(v.size(), 1);
        for (const [other, openOther] of engines) {
          await withDir(async (dir) => {
            const target = await openOther(dir);
            try {
              await target.restore(await h.engine.snapshot());
              assert.deepEqual([...target.memberAddresses()], expected, `restored into ${other}`);
              assert.equal(target.readView().size(), 1);
            } finally {
              await target.close();
            }
          });
        }
      }));

    test("snapshot → restore into either engine reproduces strings, lists and members", () =>
      withHarness(open, async (h) => {
        await h.engine.applyEntries([h.put("plain", "put")]);
        await h.apply(
          { op: "push", key: b("q"), values: [b("3"), b("2"), b("1")], end: "left" },
          { op: "push", key: b("q"), values: [b("4")], end: "right" },
          { op: "pop", key: b("q"), end: "left" },
          { op: "push", key: Uint8Array.of(0, 13, 10), values: [Uint8Array.of(0)], end: "right" },
          { op: "set", key: b("s"), value: Uint8Array.of(1, 0, 2) },
          { op: "member-addresses", id: 9, addresses: { resp: "r:9" } },
        );
        const snap = await h.engine.snapshot();
        assert.equal(snap.metadata.index, h.index);
        for (const [other, openOther] of engines) {
          await withDir(async (dir) => {
            const t = new Harness(await openOther(dir));
            try {
              await t.apply({ op: "push", key: b("stale"), values: [b("x")], end: "left" });
              await t.engine.restore(snap);
              t.index = snap.metadata.index;
              const v = t.engine.readView();
              assert.deepEqual(v.keys(b("*")).map(str), ["\u0000\r\n", "plain", "q", "s"], other);
              assert.equal(v.listLength(b("q")), 3);
              assert.deepEqual([...v.get(b("s"))!], [1, 0, 2]);
              const pops = await t.apply(
                { op: "pop", key: b("q"), end: "left" },
                { op: "pop", key: b("q"), end: "left" },
                { op: "pop", key: b("q"), end: "left" },
                { op: "pop", key: Uint8Array.of(0, 13, 10), end: "left" },
              );
              assert.deepEqual(
                normAll(pops),
                normAll([bulk("2"), bulk("3"), bulk("4"), bulk("\u0000")]),
                other,
              );
              assert.equal(t.engine.readView().size(), 2);
              assert.deepEqual([...t.engine.memberAddresses()], [[9, { resp: "r:9" }]]);
            } finally {
              await t.engine.close();
            }
          });
        }
      }));

    test("a malformed command rejects its batch and changes nothing", () =>
      withHarness(open, async (h) => {
        const good = h.entry(encodeCommand(1, { op: "set", key: b("a"), value: b("1") }));
        const bad = h.entry(Uint8Array.of(2, 0, 0, 0, 0, 0, 0, 0, 0, 99));
        await assert.rejects(
          h.engine.applyEntries([good, bad]),
          /cannot apply entry 2.*op 99 is unknown/,
        );
        assert.equal(h.engine.appliedIndex(), 0);
        assert.equal(h.engine.readView().size(), 0);
        assert.equal(h.results.length, 0);
      }));
  });
}

test("lmdb engine: strings, lists and members survive a restart", () =>
  withDir(async (dir) => {
    let h = new Harness(await openLmdbEngine({ dir }));
    await h.engine.applyEntries([h.put("p", "1")]);
    await h.apply(
      { op: "push", key: b("q"), values: [b("a"), b("b")], end: "right" },
      { op: "incrby", key: b("n"), by: 41n },
      { op: "member-addresses", id: 1, addresses: { resp: "r", http: "h" } },
    );
    await h.engine.close();
    const index = h.index;
    h = new Harness(await openLmdbEngine({ dir }));
    h.index = index;
    try {
      assert.equal(h.engine.appliedIndex(), index);
      const v = h.engine.readView();
      assert.deepEqual(v.keys(b("*")).map(str), ["n", "p", "q"]);
      assert.equal(v.size(), 3);
      assert.equal(str(v.get(b("n"))), "41");
      assert.deepEqual([...h.engine.memberAddresses()], [[1, { resp: "r", http: "h" }]]);
      assert.deepEqual(
        normAll(
          await h.apply(
            { op: "pop", key: b("q"), end: "right" },
            { op: "incrby", key: b("n"), by: 1n },
            { op: "pop", key: b("q"), end: "right" },
          ),
        ),
        normAll([bulk("b"), int(42), bulk("a")]),
      );
      assert.equal(v.exists(b("q")), false);
    } finally {
      await h.engine.close();
    }
  }));

test("an engine nobody listens to reports nothing and still applies commands", async () => {
  const engine = new MemEngine();
  await engine.applyEntries([
    {
      index: 1,
      term: 1,
      type: EntryType.Normal,
      data: encodeCommand(1, { op: "set", key: b("k"), value: b("v") }),
    },
  ]);
  assert.equal(str(engine.readView().get(b("k"))), "v");
});

// ---- property test against a reference model

type ModelValue = { type: "string"; value: string } | { type: "list"; items: string[] };

/** Redis's semantics, written plainly over strings (latin1), independent of kv-apply.ts. */
function modelApply(m: Map<string, ModelValue>, w: KvWrite): unknown {
  const k = (u: Uint8Array) => str(u)!;
  const WT = "wrong-type";
  switch (w.op) {
    case "set": {
      const exists = m.has(k(w.key));
      if ((w.condition === "nx" && exists) || (w.condition === "xx" && !exists)) return "not-set";
      m.set(k(w.key), { type: "string", value: str(w.value)! });
      return "ok";
    }
    case "mset":
      for (const [key, v] of w.pairs) m.set(k(key), { type: "string", value: str(v)! });
      return "ok";
    case "del": {
      let n = 0;
      for (const key of w.keys) if (m.delete(k(key))) n++;
      return BigInt(n);
    }
    case "incrby": {
      const cur = m.get(k(w.key));
      if (cur?.type === "list") return WT;
      let n = 0n;
      if (cur !== undefined) {
        if (!/^(0|-?[1-9][0-9]*)$/.test(cur.value) || cur.value.length > 20) return "not-integer";
        n = BigInt(cur.value);
        if (n < -(2n ** 63n) || n >= 2n ** 63n) return "not-integer";
      }
      const next = n + w.by;
      if (next < -(2n ** 63n) || next >= 2n ** 63n) return "overflow";
      m.set(k(w.key), { type: "string", value: next.toString() });
      return next;
    }
    case "push": {
      const cur = m.get(k(w.key));
      if (cur?.type === "string") return WT;
      const items = cur?.items ?? [];
      for (const v of w.values) {
        if (w.end === "left") items.unshift(str(v)!);
        else items.push(str(v)!);
      }
      if (items.length > 0) m.set(k(w.key), { type: "list", items });
      return BigInt(items.length);
    }
    case "pop": {
      const cur = m.get(k(w.key));
      if (cur === undefined) return null;
      if (cur.type === "string") return WT;
      const v = w.end === "left" ? cur.items.shift()! : cur.items.pop()!;
      if (cur.items.length === 0) m.delete(k(w.key));
      return v;
    }
  }
}

function resultShape(r: KvResult): unknown {
  switch (r.kind) {
    case "ok":
    case "not-set":
      return r.kind;
    case "integer":
      return r.value;
    case "bulk":
      return str(r.value);
    case "error":
      return r.code;
  }
}

function randomWrite(rng: SeededRng): KvWrite {
  // Few keys so that commands meet each other; bytes that matter to protocols included.
  const keyPool = [
    "a",
    "b",
    "n",
    "q",
    "\u0000",
    "\r\n",
    "k\u0000\u00ff",
    "long-key-for-the-string-map",
  ];
  const key = () => Buffer.from(keyPool[rng.intn(keyPool.length)]!, "latin1");
  const valuePool = [
    "0",
    "1",
    "-5",
    "9223372036854775807",
    "-9223372036854775808",
    "x",
    "",
    "\r\n\u0000",
    "07",
  ];
  const value = () => Buffer.from(valuePool[rng.intn(valuePool.length)]!, "latin1");
  const end = () => (rng.intn(2) === 0 ? "left" : "right") as "left" | "right";
  switch (rng.intn(9)) {
    case 0:
      return { op: "set", key: key(), value: value() };
    case 1:
      return { op: "set", key: key(), value: value(), condition: rng.intn(2) === 0 ? "nx" : "xx" };
    case 2:
      return {
        op: "mset",
        pairs: Array.from({ length: 1 + rng.intn(3) }, () => [key(), value()] as const),
      };
    case 3:
      return { op: "del", keys: Array.from({ length: 1 + rng.intn(3) }, key) };
    case 4: {
      const bys = [1n, -1n, 1000n, 2n ** 62n, -(2n ** 63n), 2n ** 63n - 1n];
      return { op: "incrby", key: key(), by: bys[rng.intn(bys.length)]! };
    }
    case 5:
    case 6:
      return {
        op: "push",
        key: key(),
        values: Array.from({ length: rng.intn(4) }, value),
        end: end(),
      };
    default:
      return { op: "pop", key: key(), end: end() };
  }
}

function modelState(m: Map<string, ModelValue>): unknown {
  return [...m.entries()].sort(([a], [b2]) => (a < b2 ? -1 : a > b2 ? 1 : 0));
}

async function engineState(e: Engine): Promise<unknown> {
  const v = e.readView();
  const out: [string, ModelValue][] = [];
  for (const key of v.keys(b("*"))) {
    const s = v.get(key);
    if (s !== null) {
      out.push([str(key)!, { type: "string", value: str(s)! }]);
      continue;
    }
    // Read a list by popping a restored copy would change it; the snapshot has it in order.
    out.push([str(key)!, { type: "list", items: [] }]);
  }
  const { decodeKvSnapshot } = await import("./kv-snapshot.js");
  const snap = decodeKvSnapshot((await e.snapshot()).data);
  const lists = new Map(snap.lists.map(([k, items]) => [str(k)!, items.map((i) => str(i)!)]));
  for (const [k, val] of out) if (val.type === "list") val.items = lists.get(k) ?? ["<missing>"];
  return out;
}

for (const [name, open] of engines) {
  test(`property: ${name} engine agrees with the reference model on random command sequences`, async () => {
    const seed = Number(process.env.KV_SEED ?? 20261201);
    for (let run = 0; run < 20; run++) {
      const rng = new SeededRng(seed + run);
      const context = `seed ${seed + run} (KV_SEED=${seed} run ${run}), ${name}`;
      await withHarness(open, async (h) => {
        const model = new Map<string, ModelValue>();
        for (let step = 0; step < 15; step++) {
          const batch = Array.from({ length: 1 + rng.intn(8) }, () => randomWrite(rng));
          const expected = batch.map((w) => modelApply(model, w));
          const got = (await h.apply(...batch)).map(resultShape);
          assert.deepEqual(
            got,
            expected,
            `${context} step ${step}: ${JSON.stringify(batch, (_k, v) => (typeof v === "bigint" ? `${v}` : v instanceof Uint8Array ? str(v) : v))}`,
          );
          assert.equal(h.engine.readView().size(), model.size, `${context} step ${step}: size`);
        }
        assert.deepEqual(await engineState(h.engine), modelState(model), `${context}: final state`);
      });
    }
  });
}

test("combined lmdb storage (WAL and engine in one environment): commands apply and survive a reopen", () =>
  withDir(async (dir) => {
    let storage = await openLmdbStorage({ dir });
    let h = new Harness(storage.engine);
    try {
      assert.deepEqual(
        normAll(
          await h.apply(
            { op: "push", key: b("q"), values: [b("a"), b("b")], end: "left" },
            { op: "incrby", key: b("n"), by: 2n },
          ),
        ),
        normAll([int(2), int(2)]),
      );
      assert.equal(storage.engine.readView().listLength(b("q")), 2);
    } finally {
      await storage.close();
    }
    const index = h.index;
    storage = await openLmdbStorage({ dir });
    h = new Harness(storage.engine);
    h.index = index;
    try {
      assert.deepEqual(
        normAll(
          await h.apply(
            { op: "pop", key: b("q"), end: "left" },
            { op: "incrby", key: b("n"), by: 1n },
          ),
        ),
        normAll([bulk("b"), int(3)]),
      );
    } finally {
      await storage.close();
    }
  }));
