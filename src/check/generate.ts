// Test support (used by the checker's tests and its benchmark, not by the checker): random
// histories of the key-value service that are linearizable by construction, and anomalies
// planted into them that no linearization can explain.
//
// Construction: clients issue one operation at a time; each operation gets a hidden
// linearization point inside its interval, and the outputs are what a sequential store
// replies when the operations are applied in the order of those points. Indeterminate
// operations take effect at a point anywhere after their invocation (even after the client
// gave up), or never; failed ones never.
import { type KvInput, type KvOutput, numberByInvocation, type Operation } from "./history.js";

export interface GenerateOptions {
  seed: number;
  operations: number;
  clients: number;
  registers: number;
  counters: number;
  queues: number;
  /** Share of operations that end indeterminate (half of them take effect). */
  infoRate: number;
  /** Share of operations that fail (never take effect). */
  failRate: number;
  /** Whether a push's reply (the list's new length) is recorded (rafttoy-jepsen does not). */
  pushLengths: boolean;
}

export const DEFAULT_GENERATE: GenerateOptions = {
  seed: 1,
  operations: 2000,
  clients: 8,
  registers: 3,
  counters: 1,
  queues: 1,
  infoRate: 0.02,
  failRate: 0.02,
  pushLengths: true,
};

export interface Generated {
  history: Operation[];
  /** Per operation id: where it took effect (Infinity: never). */
  point: number[];
}

/** A small seeded generator (mulberry32): the same seed gives the same history. */
export function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function generateHistory(options: Partial<GenerateOptions> = {}): Generated {
  const o = { ...DEFAULT_GENERATE, ...options };
  const random = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
  const keys = [
    ...Array.from({ length: o.registers }, (_, i) => ({ key: `r${i}`, kind: "register" as const })),
    ...Array.from({ length: o.counters }, (_, i) => ({ key: `c${i}`, kind: "counter" as const })),
    ...Array.from({ length: o.queues }, (_, i) => ({ key: `q${i}`, kind: "queue" as const })),
  ];
  const clock = new Array<number>(o.clients).fill(0);
  const drafts: (Omit<Operation, "id"> & { point: number })[] = [];
  for (let i = 0; i < o.operations; i++) {
    const process = Math.floor(random() * o.clients);
    const { key, kind } = pick(keys);
    const value = `v${i}`;
    const r = random();
    let input: KvInput;
    if (kind === "register")
      input = r < 0.5 ? { f: "get" } : r < 0.9 ? { f: "set", value } : { f: "del" };
    else if (kind === "counter") input = r < 0.7 ? { f: "incr", by: 1 } : { f: "get" };
    else input = r < 0.4 ? { f: "push", value, end: "right" } : { f: "pop", end: "left" };
    const invoke = (clock[process] as number) + Math.floor(random() * 50);
    const complete = invoke + 1 + Math.floor(random() * 200);
    const fate = random();
    let status: Operation["status"] = "ok";
    let point = invoke + random() * (complete - invoke);
    if (fate < o.failRate) {
      status = "fail";
      point = Number.POSITIVE_INFINITY;
    } else if (fate < o.failRate + o.infoRate) {
      status = "info";
      point =
        random() < 0.5 ? Number.POSITIVE_INFINITY : invoke + random() * (complete - invoke) * 10;
    }
    clock[process] = complete;
    drafts.push({
      process,
      key,
      input,
      output: undefined,
      status,
      invoke,
      complete: status === "info" ? Number.POSITIVE_INFINITY : complete,
      point,
    });
  }
  // Outputs: apply in the order of the points.
  const store = new Map<string, string | string[]>();
  const order = drafts
    .filter((d) => d.point !== Number.POSITIVE_INFINITY)
    .sort((a, b) => a.point - b.point);
  for (const d of order) {
    const output = apply(store, d.key, d.input);
    if (d.status === "ok") d.output = d.input.f === "push" && !o.pushLengths ? undefined : output;
  }
  const numbered = numberByInvocation(drafts.map(({ point: _, ...op }) => op));
  const byInvocation = drafts
    .map((d, i) => ({ d, i }))
    .sort((a, b) => a.d.invoke - b.d.invoke || a.i - b.i)
    .map(({ d }) => d.point);
  return { history: numbered, point: byInvocation };
}

/** A sequential store's reply, as Redis gives it (the generator uses no failing commands). */
function apply(store: Map<string, string | string[]>, key: string, input: KvInput): KvOutput {
  const held = store.get(key);
  switch (input.f) {
    case "get":
      return typeof held === "string" ? held : null;
    case "set":
      store.set(key, input.value);
      return "OK";
    case "del":
      store.delete(key);
      return held === undefined ? 0 : 1;
    case "incr": {
      const next = Number(typeof held === "string" ? held : "0") + input.by;
      store.set(key, String(next));
      return next;
    }
    case "push": {
      const items = Array.isArray(held) ? held : [];
      if (input.end === "right") items.push(input.value);
      else items.unshift(input.value);
      store.set(key, items);
      return items.length;
    }
    case "pop": {
      if (!Array.isArray(held)) return null;
      const item = input.end === "left" ? held.shift() : held.pop();
      if (held.length === 0) store.delete(key);
      return item ?? null;
    }
  }
}

export type AnomalyKind =
  | "stale-read"
  | "lost-write"
  | "duplicate-apply"
  | "duplicate-pop"
  | "reordered-pop";

export const ANOMALY_KINDS: readonly AnomalyKind[] = [
  "stale-read",
  "lost-write",
  "duplicate-apply",
  "duplicate-pop",
  "reordered-pop",
];

/**
 * Plants one anomaly of `kind` into a generated history so that no linearization explains
 * it (each kind checks the real-time order that makes this so), or returns undefined when
 * the history has no place for it. Only outputs change; the history is copied.
 */
export function plantAnomaly(
  generated: Generated,
  kind: AnomalyKind,
  random: () => number,
): { history: Operation[]; description: string } | undefined {
  const history = generated.history.map((op) => ({ ...op }));
  const ok = (op: Operation) => op.status === "ok";
  const start = Math.floor(random() * history.length);
  const rotated = [...history.slice(start), ...history.slice(0, start)];
  switch (kind) {
    case "stale-read": {
      // A read returns x although a write w replaced x strictly before the read began.
      for (const g of rotated) {
        if (!ok(g) || g.input.f !== "get" || !g.key.startsWith("r")) continue;
        const sets = history.filter((w) => ok(w) && w.key === g.key && w.input.f === "set");
        const w = sets.filter((s) => s.complete < g.invoke).at(-1);
        if (w === undefined) continue;
        const w0 = sets.find(
          (s) => s.complete < w.invoke && s.input.f === "set" && s.input.value !== g.output,
        );
        if (w0 === undefined || w0.input.f !== "set") continue;
        g.output = w0.input.value;
        return {
          history,
          description: `op ${g.id} reads ${w0.input.value} (op ${w0.id}) after op ${w.id} replaced it`,
        };
      }
      return undefined;
    }
    case "lost-write":
    case "duplicate-apply": {
      // A counter increment forgotten (or applied twice): every later reply is off by its amount.
      const lost = kind === "lost-write";
      for (const u of rotated) {
        if (!ok(u) || u.input.f !== "incr") continue;
        const by = u.input.by;
        const at = generated.point[u.id] as number;
        const later = history.filter(
          (o) =>
            ok(o) && o.key === u.key && (generated.point[o.id] as number) > at && o.output !== null,
        );
        const shifted = later.map((o) => ({ o, value: Number(o.output) + (lost ? -by : by) }));
        const witness = shifted.find(({ o, value }) =>
          lost
            ? value < sumBy(history, (x) => ok(x) && x.key === u.key && x.complete < o.invoke)
            : value >
              sumBy(
                history,
                (x) => x.status !== "fail" && x.key === u.key && x.invoke < o.complete,
              ),
        );
        if (witness === undefined) continue;
        for (const { o, value } of shifted)
          o.output = typeof o.output === "string" ? String(value) : value;
        return {
          history,
          description: `op ${u.id} (incr ${by}) ${lost ? "lost" : "applied twice"}`,
        };
      }
      return undefined;
    }
    case "duplicate-pop": {
      // Two pops return the same item, which was pushed once.
      const pops = rotated.filter(
        (p) => ok(p) && p.input.f === "pop" && typeof p.output === "string",
      );
      for (const a of pops) {
        const b = pops.find((p) => p !== a && p.key === a.key);
        if (b === undefined) continue;
        b.output = a.output;
        return { history, description: `ops ${a.id} and ${b.id} both pop ${String(a.output)}` };
      }
      return undefined;
    }
    case "reordered-pop": {
      // p1 then p2 (strictly), popping a and b, where a was pushed strictly before b: swap them.
      const pushOf = new Map<string, Operation>();
      for (const p of history) if (p.input.f === "push") pushOf.set(p.input.value, p);
      for (const p1 of rotated) {
        if (!ok(p1) || p1.input.f !== "pop" || typeof p1.output !== "string") continue;
        const a = pushOf.get(p1.output);
        for (const p2 of history) {
          if (!ok(p2) || p2.key !== p1.key || p2.input.f !== "pop" || typeof p2.output !== "string")
            continue;
          if (p2.invoke <= p1.complete) continue;
          const b = pushOf.get(p2.output);
          if (a === undefined || b === undefined || !ok(a) || !(a.complete < b.invoke)) continue;
          const first = p1.output;
          p1.output = p2.output;
          p2.output = first;
          return {
            history,
            description: `ops ${p1.id} and ${p2.id} pop ${p2.output} and ${p1.output} out of push order`,
          };
        }
      }
      return undefined;
    }
  }
}

function sumBy(history: readonly Operation[], counted: (op: Operation) => boolean): number {
  let sum = 0;
  for (const op of history) if (op.input.f === "incr" && counted(op)) sum += op.input.by;
  return sum;
}
