import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, test } from "node:test";
import { silentLogger } from "../../raft/api.js";
import { SegmentFiles } from "./segment.js";

const SEGMENT_BYTES = 64 * 1024;

let dir = "";
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "rafttoy-segment-"));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const spares = () => fs.readdirSync(dir).filter((f) => /^spare-\d+\.wal$/.test(f));

describe("segment files", () => {
  test("a segment that grew as it was written is recycled into a spare and reused", async () => {
    const files = new SegmentFiles(dir, SEGMENT_BYTES, silentLogger);
    // Nothing is ready and the caller cannot wait: the segment is a file that grows.
    const grown = files.claim(1, 4096, false);
    assert.equal(fs.fstatSync(grown.fd).size, 0);
    const written = SEGMENT_BYTES - 4096; // sealed short of full, as a real one is
    fs.writeSync(grown.fd, Buffer.alloc(written, 7), 0, written, 0);
    const ino = fs.fstatSync(grown.fd).ino;
    assert.equal(files.recycle(grown), undefined, "kept, not removed");
    assert.deepEqual(
      spares().map((f) => fs.statSync(path.join(dir, f)).ino),
      [ino],
    );
    const next = files.claim(2, 4096, false);
    assert.equal(fs.fstatSync(next.fd).ino, ino, "the next segment is the recycled file");
    assert.equal(next.capacity, SEGMENT_BYTES);
    fs.closeSync(next.fd);
    await files.close();
  });

  test("a segment cut short is removed, off the event loop, before close() resolves", async () => {
    const files = new SegmentFiles(dir, SEGMENT_BYTES, silentLogger);
    const short = files.claim(1, 4096, false);
    fs.writeSync(short.fd, Buffer.alloc(4096, 7), 0, 4096, 0);
    const removal = files.recycle(short);
    assert.ok(removal !== undefined, "removed, not kept");
    await files.close();
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});
