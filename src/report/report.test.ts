import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fixtureReport, writeFixture } from "../testing/report-fixture.js";
import { InputError, parseResultSet, readResultSets } from "./input.js";
import { writeReport } from "./report.js";
import { reportMain } from "./report-cli.js";

const ALL_PLOTS = [
  "ns-per-op",
  "p99",
  "x-floor",
  "latency-throughput",
  "cpu",
  "rss",
  "stage-latency",
  "batch-size",
];

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "rafttoy-report-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** No reference the browser would fetch: no scripts, no external src/href/url(). */
function assertSelfContained(html: string): void {
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /\b(src|href)\s*=\s*"(?!#)/i, "only in-page links");
  assert.doesNotMatch(html, /url\(\s*['"]?(https?:|\/\/)/i);
  assert.doesNotMatch(html, /<link\b/i);
  assert.doesNotMatch(html, /@import/i);
}

describe("writeReport", () => {
  test("a result file as today's runner writes it: plots for what it has, notes for the rest", async () => {
    const json = await writeFixture(dir, "basic");
    const out = join(dir, "basic.html");
    const summary = await writeReport([json], out);
    assert.deepEqual(
      summary.plots.map((p) => p.id),
      ["ns-per-op", "p99", "cpu", "stage-latency", "batch-size"],
    );
    assert.deepEqual(
      summary.skipped.map((s) => s.id),
      ["x-floor", "latency-throughput", "rss"],
    );
    assert.deepEqual(summary.warnings, []);
    const html = await readFile(out, "utf8");
    assert.equal(summary.bytes, Buffer.byteLength(html));
    assert.equal(html.match(/<section class="plot"/g)?.length, 5);
    assert.equal(html.match(/<svg /g)?.length, 5);
    assert.match(html, /Skipped: no run in these files records RSS/);
    assert.match(html, /Only the leader's histograms/);
    assertSelfContained(html);
  });

  test("a complete result file gets every plot, followers' histograms included", async () => {
    const json = await writeFixture(dir, "complete", { complete: true });
    const summary = await writeReport([json], join(dir, "complete.html"));
    assert.deepEqual(
      summary.plots.map((p) => p.id),
      ALL_PLOTS,
    );
    assert.deepEqual(summary.skipped, []);
    assert.deepEqual(summary.warnings, []);
    const html = await readFile(join(dir, "complete.html"), "utf8");
    assert.match(html, /follower 2/);
    assert.match(html, /read from the HDR histograms/);
    assertSelfContained(html);
  });

  test("several files merge into one report, one series per pipeline", async () => {
    const a = await writeFixture(dir, "basic-pipe", { pipeline: "basic", slowdown: 1.5 });
    const b = await writeFixture(dir, "parallel-pipe", { pipeline: "parallel-append" });
    const out = join(dir, "merged.html");
    const summary = await writeReport([a, b], out);
    assert.equal(summary.plots.length, 5);
    const html = await readFile(out, "utf8");
    // Legend entries are SVG text; both series are drawn.
    assert.match(html, />basic</);
    assert.match(html, />parallel-append</);
  });

  test("PNG copies: one valid PNG per plot", async () => {
    const json = await writeFixture(dir, "png", { complete: true });
    const summary = await writeReport([json], join(dir, "png.html"), { pngDir: join(dir, "png") });
    assert.equal(summary.pngPaths.length, ALL_PLOTS.length);
    for (const path of summary.pngPaths) {
      const bytes = await readFile(path);
      assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      assert.ok(bytes.length > 5_000, `${path} has content`);
    }
  });

  test("a file that is not a result is refused, naming it", async () => {
    const bad = join(dir, "bad.json");
    await writeFile(bad, '{"hello": 1}');
    await assert.rejects(writeReport([bad], join(dir, "x.html")), (err: unknown) => {
      assert.ok(err instanceof InputError);
      assert.match(err.message, /bad\.json: not a rafttoy benchmark result/);
      return true;
    });
    await assert.rejects(
      readResultSets([join(dir, "missing.json")]),
      /missing\.json: cannot read \(ENOENT\)/,
    );
  });
});

describe("reading result files", () => {
  test("RSS: the session's samples per process, or per-run figures from older writers", async () => {
    const complete = parseResultSet("c.json", JSON.stringify(fixtureReport({ complete: true })));
    assert.deepEqual(
      complete.rss.map((p) => [p.process, p.samples.length]),
      [
        ["leader", 4],
        ["follower 2", 4],
        ["follower 3", 4],
      ],
    );
    const perRun = fixtureReport();
    for (const run of perRun.runs as Record<string, unknown>[]) run.rssBytes = 200 * 2 ** 20;
    const path = join(dir, "per-run-rss.json");
    await writeFile(path, JSON.stringify(perRun));
    const summary = await writeReport([path], join(dir, "per-run-rss.html"));
    assert.ok(summary.plots.some((p) => p.id === "rss"));
    assert.deepEqual(summary.warnings, []);
  });

  test("followers' histograms are found whatever the writer calls their holder", () => {
    const base = fixtureReport();
    const shapes: Record<string, unknown>[] = [
      { ...base, followers: [{ id: 2, metrics: base.metrics }] },
      { ...base, followers: { "2": { metrics: base.metrics } } },
      { ...base, nodes: [{ role: "follower 2", metrics: base.metrics }] },
    ];
    for (const shape of shapes) {
      const set = parseResultSet("x.json", JSON.stringify(shape));
      assert.deepEqual(
        set.roles.map((r) => r.role),
        ["leader", "follower 2"],
        JSON.stringify(Object.keys(shape)),
      );
    }
  });

  test("HDR-encoded histograms give a dense percentile curve; summaries give six points", () => {
    const complete = parseResultSet("c.json", JSON.stringify(fixtureReport({ complete: true })));
    const leader = complete.roles.find((r) => r.role === "leader")!;
    const append = leader.histograms["append-latency-ns"]!;
    assert.equal(append.fromHdr, true);
    assert.ok(append.percentiles.length > 20);
    const basic = parseResultSet("b.json", JSON.stringify(fixtureReport()));
    const summaryOnly = basic.roles[0]!.histograms["append-latency-ns"]!;
    assert.equal(summaryOnly.fromHdr, false);
    assert.deepEqual(
      summaryOnly.percentiles.map(([p]) => p),
      [0, 50, 90, 99, 99.9, 100],
    );
  });

  test("series labels name what differs between files, and the file when nothing does", async () => {
    const a = await writeFixture(dir, "same-a");
    const b = await writeFixture(dir, "same-b");
    const sets = await readResultSets([a, b]);
    assert.deepEqual(
      sets.map((s) => s.series),
      ["parallel-append (same-a.json)", "parallel-append (same-b.json)"],
    );
    const c = join(dir, "lmdb.json");
    const lmdb = fixtureReport();
    (lmdb.config as Record<string, unknown>).engine = "lmdb";
    await writeFile(c, JSON.stringify(lmdb));
    const mixed = await readResultSets([a, c]);
    assert.deepEqual(
      mixed.map((s) => s.series),
      ["parallel-append engine=mem", "parallel-append engine=lmdb"],
    );
  });
});

describe("rafttoy-report command line", () => {
  const run = async (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await reportMain(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
    return { code, out, err };
  };

  test("bad input is a one-line error and exit 2", async () => {
    for (const argv of [[], ["--nope", "x.json"], ["-o"], [join(dir, "absent.json")]]) {
      const r = await run(argv);
      assert.equal(r.code, 2, argv.join(" "));
      assert.equal(r.err.length, 1);
      assert.match(r.err[0]!, /^rafttoy-report: /);
    }
  });

  test("writes beside the first file by default and says what it wrote", async () => {
    const json = await writeFixture(join(dir, "cli"), "r");
    const r = await run([json]);
    assert.equal(r.code, 0, r.err.join("\n"));
    assert.match(r.out[0]!, /wrote .*cli\/report\.html \(5 plots, \d+ bytes, \d+ ms\)/);
    assert.ok(
      (await readFile(join(dir, "cli", "report.html"), "utf8")).startsWith("<!doctype html>"),
    );
  });
});
