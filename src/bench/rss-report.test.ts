import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { readRss } from "../metrics/rss.js";
import { addRssToReport } from "./rss-report.js";

test("readRss reads this process's RSS and peak from /proc", {
  skip: process.platform !== "linux",
}, () => {
  const held = Buffer.alloc(32 << 20, 1); // resident: written to
  const rss = readRss();
  assert.ok(rss !== undefined);
  assert.ok(rss.rssBytes >= 32 << 20, `rss ${rss.rssBytes}`);
  assert.ok(rss.maxRssBytes >= rss.rssBytes);
  assert.equal(held[held.length - 1], 1);
  assert.equal(readRss(2 ** 22 + 12345), undefined, "no such pid");
});

test("addRssToReport merges per process and keeps the rest of the report", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-rss-"));
  try {
    const file = path.join(dir, "r.json");
    fs.writeFileSync(file, JSON.stringify({ results: [1, 2] }));
    await addRssToReport(file, { leader: { rssBytes: 10, maxRssBytes: 20 } });
    await addRssToReport(file, {
      leader: { samples: [{ atS: 10, rssBytes: 9 }] },
      "follower 2": { rssBytes: 5, maxRssBytes: 6 },
    });
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    assert.deepEqual(r.results, [1, 2]);
    assert.deepEqual(r.rss.leader, {
      rssBytes: 10,
      maxRssBytes: 20,
      samples: [{ atS: 10, rssBytes: 9 }],
    });
    assert.deepEqual(r.rss["follower 2"], { rssBytes: 5, maxRssBytes: 6 });
    await addRssToReport(path.join(dir, "missing.json"), {}); // no results: no error
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
