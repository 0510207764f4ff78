// The lmdb engine's write-back thread: a worker with its own handle on the engine's lmdb
// environment (lmdb lets threads of one process share an environment) that writes each
// write-back as one synchronous, flushed transaction, so the main thread never runs lmdb's
// per-key work or waits for its commit.
//
// The main thread packs the changed keys' stored keys and current values into chunks
// (WriteChunk, a plain byte copy, ~0.4 us per 256-byte value) over as many turns as it
// likes and posts each one as it is filled (the buffer is transferred, not copied). The
// worker only keeps them; commit() sends the last chunk with the engine's meta writes, and
// the worker then writes every chunk of the write-back, in order, and the meta values in
// one transaction, and flushes it (lmdb's sync) before it answers. A key sent twice is written twice, the later
// value last: the transaction ends with the latest. Nothing reaches lmdb before commit(),
// so lmdb never holds part of a write-back.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import { type LmdbEnvOptions, lmdbOpenOptions } from "../lmdb-env.js";
import { type KvWrites, STRING_PREFIX } from "./lmdb-layout.js";

/** lmdb's transaction flags: abortable (1), committed before returning (2), not flushed (0x10000). */
const TXN_ABORTABLE_NO_SYNC_FLUSH = 0x10003;
const OP_PUT = 1;
const OP_REMOVE = 2;

/** Record: op u8 | key length u16 LE | key | value length u32 LE | value (puts only). */
export class WriteChunk implements KvWrites {
  private buf: Buffer;
  private used = 0;
  /** Records written so far. */
  count = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(capacity);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    const n = value.byteLength;
    const v = this.writeKey(OP_PUT, key, 4 + n);
    const b = this.buf;
    b[v] = n & 0xff;
    b[v + 1] = (n >>> 8) & 0xff;
    b[v + 2] = (n >>> 16) & 0xff;
    b[v + 3] = n >>> 24;
    b.set(value, v + 4);
  }

  remove(key: Uint8Array): void {
    this.writeKey(OP_REMOVE, key, 0);
  }

  /** Writes a record's op and key, reserving `more` bytes after them; where those start. */
  private writeKey(op: number, key: Uint8Array, more: number): number {
    const len = key.byteLength;
    const at = this.reserve(3 + len + more);
    const b = this.buf;
    b[at] = op;
    b[at + 1] = len & 0xff;
    b[at + 2] = len >>> 8;
    // Keys are mostly a few bytes: a loop beats set()'s call for those.
    if (len <= 16) for (let i = 0; i < len; i++) b[at + 3 + i] = key[i]!;
    else b.set(key, at + 3);
    this.count++;
    return at + 3 + len;
  }

  /** The records' bytes, in a buffer of their own (to transfer). */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.used);
  }

  private reserve(n: number): number {
    if (this.used + n > this.buf.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.used + n));
      this.buf.copy(grown, 0, 0, this.used);
      this.buf = grown;
    }
    const at = this.used;
    this.used += n;
    return at;
  }
}

/** Meta database writes made in a write-back's transaction: [key, JSON value]. */
export type MetaWrites = [key: string, value: unknown][];

interface CommitReply {
  id: number;
  error?: string;
}

export interface WriteBackThreadOptions {
  dir: string;
  env?: LmdbEnvOptions;
  /** The engine's database names (lmdb-engine.ts owns them). */
  kvName: string;
  metaName: string;
}

/** Worker body, plain JavaScript evaluated as is (so it also runs when the rest is not compiled). */
const WRITE_BACK_WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
const { open } = require(workerData.lmdbPath);
const env = open(workerData.envOptions);
const kv = env.openDB({ name: workerData.kvName, encoding: "binary", keyEncoding: "binary" });
const meta = env.openDB({ name: workerData.metaName, encoding: "json" });
let chunks = [];
function writeChunk(c) {
  let at = 0;
  while (at < c.length) {
    const op = c[at];
    const keyLen = c[at + 1] | (c[at + 2] << 8);
    const key = c.subarray(at + 3, at + 3 + keyLen);
    at += 3 + keyLen;
    if (op === ${OP_REMOVE}) {
      kv.removeSync(key);
      continue;
    }
    const valueLen = c.readUInt32LE(at);
    kv.putSync(key, c.subarray(at + 4, at + 4 + valueLen));
    at += 4 + valueLen;
  }
}
// A rewrite: the chunks hold every string of the state (some more than once: the last
// record of a key is its state). When every key is a string of up to 4 bytes ('k' and the
// key), the database is emptied and refilled in key order with lmdb's append, which skips
// the B-tree search of each put and fills pages whole (~3x less CPU than putting 86 % of
// 100,000 keys at random); any other key writes every record in order after emptying.
function rewrite(chunks) {
  // Per key, where its last record's value starts: chunk * 2^32 + offset (-1: removed).
  const last = new Map();
  let general = false;
  for (let ci = 0; ci < chunks.length; ci++) {
    const c = chunks[ci];
    let at = 0;
    while (at < c.length) {
      const op = c[at];
      const keyLen = c[at + 1] | (c[at + 2] << 8);
      const k = at + 3;
      at = k + keyLen;
      let where = -1;
      if (op !== ${OP_REMOVE}) {
        where = ci * 0x1_0000_0000 + at;
        at += 4 + c.readUInt32LE(at);
      }
      if (keyLen < 1 || keyLen > 5 || c[k] !== ${STRING_PREFIX}) {
        general = true;
        continue;
      }
      // The key's bytes big-endian, padded to 4, then its length: byte order as numbers.
      let n = 0;
      for (let i = 1; i < 5; i++) n = n * 256 + (i < keyLen ? c[k + i] : 0);
      last.set(n * 8 + keyLen - 1, where);
    }
  }
  kv.clearSync();
  if (general) {
    for (const c of chunks) writeChunk(c);
    return;
  }
  const order = Float64Array.from(last.keys()).sort();
  const key = new Uint8Array(5);
  key[0] = ${STRING_PREFIX};
  const keys = [0, 1, 2, 3, 4].map((len) => key.subarray(0, len + 1));
  for (let j = 0; j < order.length; j++) {
    const where = last.get(order[j]);
    if (where < 0) continue;
    const len = order[j] % 8;
    let n = (order[j] - len) / 8;
    for (let i = 4; i >= 1; i--) {
      key[i] = n % 256;
      n = Math.floor(n / 256);
    }
    const at = where % 0x1_0000_0000;
    const c = chunks[(where - at) / 0x1_0000_0000];
    const value = new Uint8Array(c.buffer, c.byteOffset + at + 4, c.readUInt32LE(at));
    // An append not past the last key is refused (false), never silently misplaced.
    if (!kv.putSync(keys[len], value, APPEND)) {
      throw new Error("write-back rewrite: a key out of order");
    }
  }
}
const APPEND = { append: true };
parentPort.on("message", (m) => {
  if (m.type === "chunk") {
    chunks.push(Buffer.from(m.buffer, 0, m.length));
    return;
  }
  if (m.type === "close") {
    env.close().then(() => parentPort.postMessage({ closed: true }));
    return;
  }
  // A meta-only write leaves the chunks of a write-back still being sent for its commit.
  const mine = m.chunks ? chunks : [];
  if (m.chunks) chunks = [];
  const fail = (err) =>
    parentPort.postMessage({ id: m.id, error: String(err && err.message ? err.message : err) });
  try {
    // Abortable, committed before it returns (all or nothing), flushed after: a commit that
    // flushes itself left the file damaged when the disk was full (full-disk.test.ts).
    kv.transactionSync(() => {
      if (m.clear === "all") meta.clearSync();
      if (m.clear === "rewrite") rewrite(mine);
      else {
        if (m.clear !== undefined) kv.clearSync();
        for (const c of mine) writeChunk(c);
      }
      for (const [k, v] of m.meta) meta.putSync(k, v);
    }, ${TXN_ABORTABLE_NO_SYNC_FLUSH});
  } catch (err) {
    fail(err);
    return;
  }
  env.sync((err) => (err ? fail(err) : parentPort.postMessage({ id: m.id })));
});
`;

export class WriteBackThread {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve(): void; reject(err: Error): void }>();
  private nextId = 1;
  private died: Error | undefined;
  private closing: Promise<void> | undefined;

  constructor(opts: WriteBackThreadOptions) {
    this.worker = new Worker(WRITE_BACK_WORKER, {
      eval: true,
      workerData: {
        // Resolved here: an evaluated worker resolves modules from the working directory.
        lmdbPath: createRequire(import.meta.url).resolve("lmdb"),
        envOptions: lmdbOpenOptions(opts.dir, opts.env),
        kvName: opts.kvName,
        metaName: opts.metaName,
      },
    });
    // Kept alive only while a commit is awaited (ref'd in commit()).
    this.worker.unref();
    this.worker.on("message", (m: CommitReply) => this.onReply(m));
    this.worker.once("error", (err) => this.fail(err));
    this.worker.once("exit", (code) => {
      if (this.closing === undefined) this.fail(new Error(`write-back thread exited (${code})`));
    });
  }

  /** Hands a filled chunk to the worker, to be written by the next commit(). */
  send(chunk: WriteChunk): void {
    if (chunk.count === 0) return;
    const bytes = chunk.bytes();
    this.worker.postMessage({ type: "chunk", buffer: bytes.buffer, length: bytes.byteLength }, [
      bytes.buffer as ArrayBuffer,
    ]);
  }

  /**
   * Writes, in one transaction, every chunk sent since the last commit, then `last`, then
   * `meta`; with `clear`, the engine's keys ("kv") or everything ("all") are removed first;
   * "rewrite": the chunks hold every string of the state (and nothing else but strings
   * changed since), which replaces the engine's keys. Resolves once the transaction is
   * committed and flushed.
   */
  commit(last: WriteChunk, meta: MetaWrites, clear?: "kv" | "all" | "rewrite"): Promise<void> {
    this.send(last);
    return this.request({ type: "commit", chunks: true, meta, clear });
  }

  /**
   * Writes `meta` alone in a transaction of its own, after every earlier commit and before
   * the next: the chunks sent meanwhile wait for their commit.
   */
  writeMeta(meta: MetaWrites): Promise<void> {
    return this.request({ type: "commit", chunks: false, meta });
  }

  private request(m: { type: "commit"; chunks: boolean; meta: MetaWrites; clear?: string }) {
    if (this.died !== undefined) return Promise.reject(this.died);
    const id = this.nextId++;
    const done = new Promise<void>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ ...m, id });
    return done;
  }

  /** Closes the worker's handle on the environment and ends the worker. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.died === undefined) {
        const closed = new Promise<void>((resolve) => {
          this.worker.on("message", (m: { closed?: boolean }) => {
            if (m.closed === true) resolve();
          });
          this.worker.once("exit", () => resolve());
        });
        this.worker.ref();
        this.worker.postMessage({ type: "close" });
        await closed;
      }
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private onReply(m: CommitReply): void {
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (this.pending.size === 0) this.worker.unref();
    if (m.error === undefined) p.resolve();
    else p.reject(new Error(m.error));
  }

  private fail(err: Error): void {
    this.died ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
