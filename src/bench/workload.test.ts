import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ProposalError } from "../peer/proposal-tracker.js";
import { decodeProposal } from "../proposal/proposal.js";
import { RaftError } from "../raft/errors.js";
import { WireFormatError } from "../transport/errors.js";
import { DEFAULT_KEYS } from "./keys.js";
import type { MakePayload } from "./payload.js";
import {
  failureReason,
  IN_FLIGHT_LIMIT_REASON,
  NOT_ISSUED_REASON,
  type Proposer,
  runClosedLoop,
  runOpenLoop,
  TIMED_OUT_REASON,
} from "./workload.js";

/** Settles each proposal after `delay` (a macrotask), tracking how many are in flight. */
class FakeProposer implements Proposer {
  inFlight = 0;
  maxInFlight = 0;
  accepted: Uint8Array[] = [];
  constructor(
    private readonly delay: () => Promise<void>,
    private readonly refuse: (n: number) => Error | undefined = () => undefined,
  ) {}

  async propose(data: Uint8Array): Promise<void> {
    const n = this.accepted.length;
    this.accepted.push(data);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await this.delay();
      const error = this.refuse(n);
      if (error !== undefined) throw error;
    } finally {
      this.inFlight--;
    }
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function collectingRecorder(): { values: number[]; record(v: number): void } {
  const values: number[] = [];
  return { values, record: (v) => values.push(v) };
}

describe("closed loop", () => {
  for (const conc of [1, 7, 64]) {
    test(`conc=${conc}: exactly N proposals, never more than conc in flight`, async () => {
      const proposer = new FakeProposer(nextTurn);
      const latency = collectingRecorder();
      const result = await runClosedLoop({
        proposer,
        conc,
        bytes: 32,
        benchtime: { kind: "count", proposals: 1_000 },
        latency,
      });
      assert.equal(result.issued, 1_000);
      assert.equal(result.completed, 1_000);
      assert.equal(result.failed, 0);
      assert.deepEqual(result.failures, {});
      assert.equal(proposer.accepted.length, 1_000);
      assert.equal(proposer.maxInFlight, Math.min(conc, 1_000), "concurrency bound");
      assert.equal(latency.values.length, 1_000);
      assert.ok(latency.values.every((ns) => ns > 0));
      assert.ok(proposer.accepted.every((d) => d.length === 32));
    });
  }

  test("every proposal gets its own buffer and id, its key from the default --keys", async () => {
    const proposer = new FakeProposer(nextTurn);
    await runClosedLoop({
      proposer,
      conc: 16,
      bytes: 256,
      benchtime: { kind: "count", proposals: 5_000 },
      latency: collectingRecorder(),
    });
    const decoded = proposer.accepted.map((d) => decodeProposal(d));
    assert.equal(new Set(decoded.map((p) => p.id)).size, 5_000, "ids are unique");
    const keys = new Set(
      decoded.map((p) => new DataView(p.key.buffer, p.key.byteOffset).getUint32(0, true)),
    );
    assert.ok(
      [...keys].every((k) => k < DEFAULT_KEYS),
      "keys uniform over the default key count",
    );
    assert.ok(keys.size > 16, "keys do not follow the worker");
    // A buffer still referenced after its proposal settled must not be overwritten later.
    assert.equal(decodeProposal(proposer.accepted[0]!).id, decoded[0]!.id);
  });

  test("a duration benchtime stops issuing at the deadline", async () => {
    const proposer = new FakeProposer(() => sleep(2));
    const result = await runClosedLoop({
      proposer,
      conc: 4,
      bytes: 16,
      benchtime: { kind: "duration", ms: 100 },
      latency: collectingRecorder(),
    });
    assert.ok(result.completed > 4, `only ${result.completed} completed`);
    assert.ok(result.elapsedMs >= 100, `stopped early: ${result.elapsedMs} ms`);
    // Generous: a loaded 2-core machine (make test runs two files at once) can stall the loop
    // for most of a second; a loop that ignored the deadline would never end.
    assert.ok(result.elapsedMs < 5_000, `did not stop: ${result.elapsedMs} ms`);
  });

  test("failures are counted by reason and do not end the run", async () => {
    const refuse = (n: number) =>
      n % 10 === 3
        ? new RaftError("proposal-dropped", "no leader")
        : n % 10 === 7
          ? new Error("stopped")
          : undefined;
    const proposer = new FakeProposer(nextTurn, refuse);
    const latency = collectingRecorder();
    const result = await runClosedLoop({
      proposer,
      conc: 8,
      bytes: 16,
      benchtime: { kind: "count", proposals: 200 },
      latency,
    });
    assert.equal(result.issued, 200);
    assert.equal(result.completed, 160);
    assert.equal(result.failed, 40);
    assert.deepEqual(result.failures, {
      "proposal-dropped: no leader": 20,
      "Error: stopped": 20,
    });
    assert.equal(latency.values.length, 160, "only successes carry a latency");
  });

  test("a proposer that throws synchronously is counted too", async () => {
    const proposer: Proposer = {
      propose: () => {
        throw new RaftError("proposal-dropped", "buffer full");
      },
    };
    const result = await runClosedLoop({
      proposer,
      conc: 2,
      bytes: 16,
      benchtime: { kind: "count", proposals: 10 },
      latency: collectingRecorder(),
    });
    assert.deepEqual(result.failures, { "proposal-dropped: buffer full": 10 });
  });

  test("uses the injected payload maker with worker id and sequence", async () => {
    const calls: string[] = [];
    const makePayload: MakePayload = (worker, seq, bytes) => {
      calls.push(`${worker}/${seq}`);
      return new Uint8Array(bytes);
    };
    await runClosedLoop({
      proposer: new FakeProposer(nextTurn),
      conc: 2,
      bytes: 4,
      benchtime: { kind: "count", proposals: 6 },
      latency: collectingRecorder(),
      makePayload,
    });
    assert.deepEqual(calls.sort(), ["0/0", "0/1", "0/2", "1/0", "1/1", "1/2"]);
  });
});

describe("open loop", () => {
  test("roughly achieves the target rate over a short run", async () => {
    const proposer = new FakeProposer(() => sleep(5));
    const latency = collectingRecorder();
    const rate = 2_000;
    const result = await runOpenLoop({
      proposer,
      rate,
      bytes: 16,
      durationMs: 300,
      latency,
    });
    // 300 ms at 2,000/s is 600 proposals; the achieved rate must be within 2x of the target.
    // Due proposals a late timer did not get to count as not issued (none on an idle machine).
    const missed = result.failures[NOT_ISSUED_REASON] ?? 0;
    assert.equal(result.issued + missed, 600);
    assert.equal(result.completed, result.issued);
    // The achieved rate is what was acknowledged over the issuing window.
    assert.equal(result.achievedRate, (result.completed * 1_000) / 300);
    // More than one proposal was in flight at once: issuing did not wait for completions.
    assert.ok(proposer.maxInFlight > 1, `max in flight ${proposer.maxInFlight}`);
  });

  test("latency counts from the due time, so a stall shows in every proposal behind it", async () => {
    // The proposer stalls the event loop for 50 ms on its first call: proposals due during the
    // stall are sent late, and their latency must include the wait.
    let first = true;
    const proposer: Proposer = {
      propose: async () => {
        if (first) {
          first = false;
          const until = performance.now() + 50;
          while (performance.now() < until) {}
        }
      },
    };
    const latency = collectingRecorder();
    await runOpenLoop({
      proposer,
      rate: 1_000,
      bytes: 16,
      durationMs: 1_000,
      latency,
    });
    const overTenMs = latency.values.filter((ns) => ns > 10e6).length;
    assert.ok(overTenMs >= 20, `only ${overTenMs} latencies show the 50 ms stall`);
  });

  test("beyond the in-flight limit proposals are dropped and counted", async () => {
    const gate: Array<() => void> = [];
    const proposer: Proposer = {
      propose: () => new Promise<void>((resolve) => gate.push(resolve)),
    };
    const run = runOpenLoop({
      proposer,
      rate: 1_000,
      bytes: 16,
      durationMs: 100,
      latency: collectingRecorder(),
      maxInFlight: 10,
    });
    // The gate holds the first ten until issuing is over (the grace period lets them end).
    await sleep(150);
    for (const resolve of gate) resolve();
    const result = await run;
    assert.equal(gate.length, 10);
    assert.equal(result.completed, 10);
    const missed = result.failures[NOT_ISSUED_REASON] ?? 0;
    assert.equal(result.issued + missed, 100);
    assert.equal(result.failures[IN_FLIGHT_LIMIT_REASON], result.issued - 10);
  });

  test("it ends on time: unanswered proposals time out after the grace period", async () => {
    const proposer: Proposer = { propose: () => new Promise<void>(() => {}) };
    const began = performance.now();
    const result = await runOpenLoop({
      proposer,
      rate: 1_000,
      bytes: 16,
      durationMs: 100,
      graceMs: 100,
      latency: collectingRecorder(),
    });
    const tookMs = performance.now() - began;
    assert.ok(tookMs < 5_000, `took ${tookMs} ms for 100 ms + 100 ms of grace`);
    const missed = result.failures[NOT_ISSUED_REASON] ?? 0;
    assert.equal(result.issued + missed, 100);
    assert.equal(result.completed, 0);
    assert.equal(result.failures[TIMED_OUT_REASON], result.issued);
    assert.equal(result.achievedRate, 0);
  });

  test("an issuer that falls behind stops at the deadline and counts what it missed", async () => {
    let first = true;
    const proposer: Proposer = {
      propose: async () => {
        if (first) {
          first = false;
          // The event loop is blocked well past the deadline.
          const until = performance.now() + 150;
          while (performance.now() < until) {}
        }
      },
    };
    const result = await runOpenLoop({
      proposer,
      rate: 1_000,
      bytes: 16,
      durationMs: 50,
      latency: collectingRecorder(),
    });
    assert.equal(result.completed, 1);
    assert.deepEqual(result.failures, { [NOT_ISSUED_REASON]: 49 });
    assert.equal(result.achievedRate, 20);
  });

  test("failures are counted by reason", async () => {
    const proposer = new FakeProposer(nextTurn, (n) =>
      n % 2 === 0 ? new RaftError("proposal-dropped", "not leader") : undefined,
    );
    const result = await runOpenLoop({
      proposer,
      rate: 20_000,
      bytes: 16,
      durationMs: 5,
      latency: collectingRecorder(),
    });
    // 100 proposals are due in 5 ms; on a loaded machine the issuer may fall behind, and
    // what it could not issue in time is counted as such: every due proposal is accounted.
    const notIssued = result.failures[NOT_ISSUED_REASON] ?? 0;
    const refused = result.failures["proposal-dropped: not leader"] ?? 0;
    assert.equal(result.issued + notIssued, 100);
    assert.equal(result.completed + refused, result.issued);
    assert.equal(refused, Math.floor((result.issued + 1) / 2), "every second one refused");
    assert.deepEqual(
      Object.keys(result.failures).sort(),
      [...(notIssued > 0 ? [NOT_ISSUED_REASON] : []), "proposal-dropped: not leader"].sort(),
    );
  });
});

describe("failureReason", () => {
  test("prefers code and reason, then name and message", () => {
    assert.equal(
      failureReason(new RaftError("proposal-dropped", "no leader")),
      "proposal-dropped: no leader",
    );
    assert.equal(failureReason(new RaftError("compacted")), "compacted");
    assert.equal(failureReason(new ProposalError("not leader")), "not leader");
    assert.equal(failureReason(new WireFormatError("bad-frame", "x")), "bad-frame");
    // An error's own fields are no longer guessed at: only coded errors count by code.
    assert.equal(failureReason(Object.assign(new Error("x"), { code: 14 })), "Error: x");
    assert.equal(failureReason(new TypeError("bad")), "TypeError: bad");
    assert.equal(failureReason("plain"), "plain");
  });
});
