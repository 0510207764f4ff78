// Checks an lmdb data file's meta pages before lmdb maps it. lmdb trusts what it reads
// there: with bytes written over them it does not fail, it follows garbage page numbers
// and the process dies of a segmentation fault with nothing on stderr. Here every meta
// that lmdb may pick must have the stamp (for the two full meta pages), a sane page size,
// and tree roots that lie inside the file and point at tree pages; anything else is a
// StorageFault naming the file.
//
// Layout (lmdb as bundled by the npm package, 64-bit): a page header of 24 bytes
// (page number u64, txnid u64, pad u16, flags u16, lower u16, upper u16), then on a meta
// page: magic u32, version u32, address u64, map size u64, two tree records of 48 bytes
// (page size u32 (in the first), flags u16, depth u16, branch, leaf and overflow page
// counts, entries, root: u64 each), last page u64, txnid u64. Meta pages sit at page 0
// and page 1; with overlapping sync lmdb also reads a third one at half a page, whose
// header is left zero (it is picked only if its txnid is the highest).
import * as fs from "node:fs";
import * as path from "node:path";
import { StorageFault } from "./storage-fault.js";

const MDB_MAGIC = 0xbeefc0de;
/** The data format of the bundled lmdb (MDB_DATA_VERSION). */
const MDB_DATA_VERSION = 2;
const PAGE_HEADER_BYTES = 24;
const FLAGS_AT = 18;
const P_BRANCH = 0x01;
const P_LEAF = 0x02;
const P_META = 0x08;
const P_LEAF2 = 0x20;
const META = {
  magic: 0,
  version: 4,
  pageSize: 24,
  trees: 24,
  treeBytes: 48,
  treeDepth: 6,
  treeRoot: 40,
  lastPage: 120,
  txnid: 128,
  bytes: 136,
} as const;
const MAX_DEPTH = 64;
const NO_PAGE = 0xffff_ffff_ffff_ffffn;

export const LMDB_DATA_FILE = "data.mdb";

/** Throws a StorageFault if `dir`'s data.mdb exists and its meta pages do not check out. */
export function checkLmdbFiles(dir: string): void {
  const file = path.join(dir, LMDB_DATA_FILE);
  let fd: number;
  try {
    fd = fs.openSync(file, "r");
  } catch {
    return; // No file yet (lmdb creates it) or unreadable (lmdb says why).
  }
  try {
    const problem = findProblem(fd, fs.fstatSync(fd).size);
    if (problem !== undefined) {
      throw new StorageFault(
        "damaged",
        `lmdb file ${file} is damaged (${problem}); opening it could crash the process: ` +
          "restore it or remove the data dir to start over",
      );
    }
  } finally {
    fs.closeSync(fd);
  }
}

function readAt(fd: number, at: number, bytes: number): Buffer {
  const buf = Buffer.alloc(bytes);
  let got = 0;
  while (got < bytes) {
    const n = fs.readSync(fd, buf, got, bytes - got, at + got);
    if (n === 0) break;
    got += n;
  }
  return got === bytes ? buf : buf.subarray(0, got);
}

function findProblem(fd: number, fileBytes: number): string | undefined {
  if (fileBytes === 0) return undefined; // lmdb initialises an empty file itself.
  const first = readAt(fd, 0, PAGE_HEADER_BYTES + META.bytes);
  if (first.length < PAGE_HEADER_BYTES + META.bytes) return `only ${fileBytes} bytes`;
  const stampProblem = checkStamp(first, "meta page 0");
  if (stampProblem !== undefined) return stampProblem;
  const pageSize = first.readUInt32LE(PAGE_HEADER_BYTES + META.pageSize);
  if (pageSize < 512 || pageSize > 65536 || (pageSize & (pageSize - 1)) !== 0) {
    return `meta page 0 gives page size ${pageSize}`;
  }
  if (fileBytes < 2 * pageSize) return `only ${fileBytes} bytes, less than two pages`;
  const second = readAt(fd, pageSize, PAGE_HEADER_BYTES + META.bytes);
  const secondProblem = checkStamp(second, "meta page 1");
  if (secondProblem !== undefined) return secondProblem;
  const half = readAt(fd, pageSize / 2, PAGE_HEADER_BYTES + META.bytes);
  const metas: [string, Buffer][] = [
    ["meta page 0", first],
    ["meta page 1", second],
  ];
  if (half.readBigUInt64LE(PAGE_HEADER_BYTES + META.txnid) !== 0n) {
    metas.push([`the meta at offset ${pageSize / 2}`, half]);
  }
  for (const [name, page] of metas) {
    const p = checkTrees(fd, fileBytes, pageSize, page, name);
    if (p !== undefined) return p;
  }
  return undefined;
}

function checkStamp(page: Buffer, name: string): string | undefined {
  if (page.length < PAGE_HEADER_BYTES + META.bytes) return `${name} is cut short`;
  if ((page.readUInt16LE(FLAGS_AT) & P_META) === 0) return `${name} is not marked as a meta page`;
  const magic = page.readUInt32LE(PAGE_HEADER_BYTES + META.magic);
  if (magic !== MDB_MAGIC) return `${name} has magic 0x${magic.toString(16)}, not 0xbeefc0de`;
  const version = page.readUInt32LE(PAGE_HEADER_BYTES + META.version) & 0xffff;
  if (version !== MDB_DATA_VERSION) {
    return `${name} has format version ${version}, this lmdb reads ${MDB_DATA_VERSION}`;
  }
  return undefined;
}

/** Both trees' roots: none, or a branch or leaf page inside the file that names itself. */
function checkTrees(
  fd: number,
  fileBytes: number,
  pageSize: number,
  meta: Buffer,
  name: string,
): string | undefined {
  const base = PAGE_HEADER_BYTES;
  const lastPage = meta.readBigUInt64LE(base + META.lastPage);
  for (let t = 0; t < 2; t++) {
    const tree = base + META.trees + t * META.treeBytes;
    const depth = meta.readUInt16LE(tree + META.treeDepth);
    const root = meta.readBigUInt64LE(tree + META.treeRoot);
    const what = `${name}, tree ${t}`;
    if (root === NO_PAGE) {
      if (depth !== 0) return `${what}: no root but depth ${depth}`;
      continue;
    }
    if (depth === 0 || depth > MAX_DEPTH) return `${what}: depth ${depth}`;
    const at = Number(root) * pageSize;
    if (root < 2n || root > lastPage || at + pageSize > fileBytes) {
      return `${what}: root page ${root} lies outside the file`;
    }
    const header = readAt(fd, at, PAGE_HEADER_BYTES);
    const flags = header.readUInt16LE(FLAGS_AT);
    if (header.readBigUInt64LE(0) !== root || (flags & (P_BRANCH | P_LEAF | P_LEAF2)) === 0) {
      return `${what}: page ${root} is not a tree page`;
    }
  }
  return undefined;
}
