// The report page in a real browser: Debian's Chromium, headless, driven by playwright-core.
// `make test` installs Chromium first (make deps-browser). A missing browser fails this test
// rather than skipping it, so CI cannot pass without having looked at the page; a developer
// without Chromium may opt out with RAFTTOY_SKIP_BROWSER=1 (ignored when CI is set).
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type BrowserContext, chromium } from "playwright-core";
import { writeFixture } from "../testing/report-fixture.js";
import { writeReport } from "./report.js";

const CHROMIUM = "/usr/bin/chromium";
/** Kept after the run (an ignored path, so git status stays clean). */
const ARTIFACTS = fileURLToPath(new URL("../../../.tmp-report-test/", import.meta.url));

const optOut = process.env.RAFTTOY_SKIP_BROWSER === "1" && !process.env.CI;

let work: string;
let context: BrowserContext | undefined;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "rafttoy-report-browser-"));
});

after(async () => {
  await context?.close();
  await rm(work, { recursive: true, force: true });
});

async function browser(): Promise<BrowserContext> {
  if (context !== undefined) return context;
  assert.ok(
    existsSync(CHROMIUM),
    `Chromium is not installed at ${CHROMIUM}: run \`make deps-browser\``,
  );
  // A fresh profile each run; the flags keep Chromium from reaching for the network, which
  // this machine refuses (and which would show up as failed requests).
  context = await chromium.launchPersistentContext(join(work, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1280, height: 900 },
  });
  return context;
}

interface PageLoad {
  consoleErrors: string[];
  outsideRequests: string[];
  plotTitles: string[];
  svgCount: number;
  emptySvgs: number;
  skippedNotes: string[];
}

async function load(htmlPath: string, screenshot: string): Promise<PageLoad> {
  const ctx = await browser();
  const page = await ctx.newPage();
  const consoleErrors: string[] = [];
  const outsideRequests: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => consoleErrors.push(e.message));
  page.on("request", (r) => {
    if (!r.url().startsWith("file:")) outsideRequests.push(r.url());
  });
  await page.goto(pathToFileURL(htmlPath).href, { waitUntil: "load" });
  const plotTitles = await page.locator("section.plot > h2").allTextContents();
  const svgCount = await page.locator("section.plot figure > svg").count();
  // The SVGs as laid out, read through locators (this project compiles without DOM types).
  const svgs = page.locator("section.plot figure > svg");
  let emptySvgs = 0;
  for (let i = 0; i < svgCount; i++) {
    const box = await svgs.nth(i).boundingBox();
    const paths = await svgs.nth(i).locator("path").count();
    if (box === null || box.width < 100 || box.height < 100 || paths === 0) emptySvgs++;
  }
  const skippedNotes = await page.locator("section.skipped .note").allTextContents();
  await mkdir(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, screenshot), fullPage: true });
  await page.close();
  return { consoleErrors, outsideRequests, plotTitles, svgCount, emptySvgs, skippedNotes };
}

test("the report opens in Chromium with every plot drawn and nothing fetched", {
  skip: optOut,
}, async () => {
  const a = await writeFixture(work, "parallel-append", { complete: true });
  const b = await writeFixture(work, "basic", { complete: true, pipeline: "basic", slowdown: 1.4 });
  const html = join(ARTIFACTS, "report.html");
  const summary = await writeReport([a, b], html);
  assert.equal(summary.plots.length, 8);
  const page = await load(html, "report-screenshot.png");
  assert.deepEqual(page.consoleErrors, []);
  assert.deepEqual(page.outsideRequests, []);
  assert.deepEqual(
    page.plotTitles,
    summary.plots.map((p) => p.title),
  );
  assert.equal(page.svgCount, summary.plots.length);
  assert.equal(page.emptySvgs, 0, "every plot has a size and drawn paths");
  assert.deepEqual(page.skippedNotes, []);
});

test("a report with plots skipped shows their notes in the browser", { skip: optOut }, async () => {
  const json = await writeFixture(work, "today");
  const html = join(ARTIFACTS, "report-skipped.html");
  const summary = await writeReport([json], html);
  const page = await load(html, "report-skipped-screenshot.png");
  assert.deepEqual(page.consoleErrors, []);
  assert.deepEqual(page.outsideRequests, []);
  assert.equal(page.svgCount, summary.plots.length);
  assert.equal(page.skippedNotes.length, summary.skipped.length);
  assert.ok(page.skippedNotes.every((n) => n.startsWith("Skipped: ")));
});
