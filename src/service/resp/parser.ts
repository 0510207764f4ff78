// An incremental RESP2 request parser. Written for the project: the maintained Redis
// libraries for Node are clients (they parse replies, not requests), and the server-side
// parsers on npm are unmaintained or copy every argument through strings, which is neither
// binary-safe nor cheap. This one keeps arguments as Buffers (views into the received chunk
// where a whole argument arrived in it), resumes a frame where the last chunk stopped, and
// bounds what it buffers.

/** Bounds on what one frame may declare; past them the frame is a protocol error. */
export interface RespLimits {
  /** Largest bulk string accepted, in bytes (Redis: 512 MiB). */
  maxBulkBytes: number;
  /** Most arguments in one multibulk frame (Redis: 1,048,576). */
  maxArgs: number;
  /** Longest inline command or `*`/`$` header line, in bytes (Redis: 64 KiB). */
  maxInlineBytes: number;
}

export const DEFAULT_RESP_LIMITS: RespLimits = {
  maxBulkBytes: 64 * 1024 * 1024,
  maxArgs: 1024 * 1024,
  maxInlineBytes: 64 * 1024,
};

/** A malformed frame: the connection that sent it is answered with this and closed. */
export class RespProtocolError extends Error {
  override readonly name = "RespProtocolError";
}

/** What one chunk produced: every complete command, then the error that stopped parsing. */
export interface ParseResult {
  commands: Buffer[][];
  error?: RespProtocolError;
}

const CR = 13;
const LF = 10;
const EMPTY = Buffer.alloc(0);

/**
 * Parses requests as chunks arrive. A frame split anywhere (even one byte per chunk)
 * resumes where it stopped: the multibulk's collected arguments and the bulk being filled
 * are kept between chunks, so a large value is copied once, into a buffer of its declared
 * length, never re-scanned or concatenated chunk after chunk.
 */
export class RespParser {
  /** Unconsumed bytes of an incomplete header line or inline command. */
  private pending: Buffer = EMPTY;
  /** The multibulk frame being collected: its arguments so far and how many it declared. */
  private args: Buffer[] | null = null;
  private argsDeclared = 0;
  /** A bulk whose payload (plus CRLF) is being copied in across chunks. */
  private bulk: Buffer | null = null;
  private bulkFilled = 0;
  private failed = false;

  constructor(private readonly limits: RespLimits = DEFAULT_RESP_LIMITS) {}

  /** Feeds one chunk; returns every command it completed. After an error, nothing more. */
  push(chunk: Buffer): ParseResult {
    const commands: Buffer[][] = [];
    if (this.failed) return { commands };
    try {
      this.parse(chunk, commands);
      return { commands };
    } catch (e) {
      if (!(e instanceof RespProtocolError)) throw e;
      this.failed = true;
      this.pending = EMPTY;
      this.args = null;
      this.bulk = null;
      return { commands, error: e };
    }
  }

  private parse(chunk: Buffer, out: Buffer[][]): void {
    let buf = chunk;
    let pos = 0;
    if (this.bulk !== null) {
      pos = this.fillBulk(buf, 0, out);
      if (this.bulk !== null) return;
    }
    if (this.pending.length > 0) {
      buf = Buffer.concat([this.pending, buf.subarray(pos)]);
      pos = 0;
      this.pending = EMPTY;
    }
    const end = buf.length;
    while (pos < end) {
      if (this.args === null) {
        if (buf[pos] === 0x2a /* '*' */) {
          const line = this.lineEnd(buf, pos);
          if (line < 0) break;
          const n = this.headerInteger(buf, pos + 1, line, "multibulk length");
          pos = line + 2;
          if (n > this.limits.maxArgs) throw new RespProtocolError("invalid multibulk length");
          // Redis ignores `*0` and `*-1` headers: nothing to run.
          if (n <= 0) continue;
          this.args = [];
          this.argsDeclared = n;
          continue;
        }
        const line = this.inlineEnd(buf, pos);
        if (line < 0) break;
        const words = splitInline(buf.subarray(pos, line));
        pos = buf[line] === CR ? line + 2 : line + 1;
        if (words.length > 0) out.push(words);
        continue;
      }
      // Inside a multibulk: the next argument's `$len` header.
      if (buf[pos] !== 0x24 /* '$' */) {
        throw new RespProtocolError(
          `expected '$', got '${String.fromCharCode(buf[pos] as number)}'`,
        );
      }
      const line = this.lineEnd(buf, pos);
      if (line < 0) break;
      const len = this.headerInteger(buf, pos + 1, line, "bulk length");
      if (len < 0 || len > this.limits.maxBulkBytes) {
        throw new RespProtocolError("invalid bulk length");
      }
      pos = line + 2;
      if (end - pos >= len + 2) {
        // The whole argument is in this chunk: a view, no copy.
        this.checkBulkEnd(buf, pos + len);
        this.addArg(buf.subarray(pos, pos + len), out);
        pos += len + 2;
        continue;
      }
      // Split across chunks: copy into a buffer of the declared size as the rest arrives.
      this.bulk = Buffer.allocUnsafe(len + 2);
      this.bulkFilled = 0;
      pos = this.fillBulk(buf, pos, out);
      if (this.bulk !== null) return;
    }
    if (pos < end) {
      const rest = buf.subarray(pos);
      if (rest.length > this.limits.maxInlineBytes) {
        throw new RespProtocolError(
          this.args === null ? "too big inline request" : "too big bulk count string",
        );
      }
      // Copied: the chunk's buffer may be large and is otherwise garbage.
      this.pending = Buffer.from(rest);
    }
  }

  /** Copies from `buf[pos..]` into the bulk being filled; returns the position after. */
  private fillBulk(buf: Buffer, pos: number, out: Buffer[][]): number {
    const bulk = this.bulk as Buffer;
    const n = Math.min(bulk.length - this.bulkFilled, buf.length - pos);
    buf.copy(bulk, this.bulkFilled, pos, pos + n);
    this.bulkFilled += n;
    if (this.bulkFilled < bulk.length) return pos + n;
    this.bulk = null;
    this.checkBulkEnd(bulk, bulk.length - 2);
    this.addArg(bulk.subarray(0, bulk.length - 2), out);
    return pos + n;
  }

  private checkBulkEnd(buf: Buffer, at: number): void {
    if (buf[at] !== CR || buf[at + 1] !== LF) {
      throw new RespProtocolError("bulk string not terminated by CRLF");
    }
  }

  private addArg(arg: Buffer, out: Buffer[][]): void {
    const args = this.args as Buffer[];
    args.push(arg);
    if (args.length === this.argsDeclared) {
      out.push(args);
      this.args = null;
    }
  }

  /** The index of the CR ending the header line at `pos`, or -1 while it is incomplete. */
  private lineEnd(buf: Buffer, pos: number): number {
    const cr = buf.indexOf(CR, pos);
    if (cr < 0 || cr + 1 >= buf.length) {
      if (buf.length - pos > this.limits.maxInlineBytes) {
        throw new RespProtocolError("too big bulk count string");
      }
      return -1;
    }
    if (buf[cr + 1] !== LF) throw new RespProtocolError("header line not terminated by CRLF");
    return cr;
  }

  /** The end (LF, or the CR of CRLF) of the inline command at `pos`, or -1 while incomplete. */
  private inlineEnd(buf: Buffer, pos: number): number {
    const lf = buf.indexOf(LF, pos);
    if (lf < 0) {
      if (buf.length - pos > this.limits.maxInlineBytes) {
        throw new RespProtocolError("too big inline request");
      }
      return -1;
    }
    return lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
  }

  private headerInteger(buf: Buffer, from: number, to: number, what: string): number {
    const n = parseDecimal(buf, from, to);
    if (n === null) throw new RespProtocolError(`invalid ${what}`);
    return n;
  }
}

/** A decimal integer of at most 15 digits, optionally negative, or null. */
function parseDecimal(buf: Buffer, from: number, to: number): number | null {
  let i = from;
  let negative = false;
  if (buf[i] === 0x2d /* '-' */) {
    negative = true;
    i++;
  }
  if (i >= to || to - i > 15) return null;
  let n = 0;
  for (; i < to; i++) {
    const d = (buf[i] as number) - 0x30;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

/**
 * Splits an inline command into words: spaces and tabs separate, double quotes group (with
 * \n, \r, \t, \\, \", \xHH escapes), single quotes group literally — what redis-cli users type.
 */
export function splitInline(line: Buffer): Buffer[] {
  const words: Buffer[] = [];
  let i = 0;
  const n = line.length;
  while (i < n) {
    while (i < n && (line[i] === 0x20 || line[i] === 0x09)) i++;
    if (i >= n) break;
    const q = line[i];
    if (q === 0x22 || q === 0x27) {
      const bytes: number[] = [];
      i++;
      let closed = false;
      while (i < n) {
        const c = line[i] as number;
        if (c === q) {
          closed = true;
          i++;
          break;
        }
        if (q === 0x22 && c === 0x5c /* '\\' */ && i + 1 < n) {
          const e = line[i + 1] as number;
          const hex = e === 0x78 && i + 3 < n ? parseHexByte(line[i + 2], line[i + 3]) : -1;
          if (hex >= 0) {
            bytes.push(hex);
            i += 4;
            continue;
          }
          bytes.push(e === 0x6e ? LF : e === 0x72 ? CR : e === 0x74 ? 9 : e === 0x62 ? 8 : e);
          i += 2;
          continue;
        }
        if (q === 0x27 && c === 0x5c && line[i + 1] === 0x27) {
          bytes.push(0x27);
          i += 2;
          continue;
        }
        bytes.push(c);
        i++;
      }
      if (!closed || (i < n && line[i] !== 0x20 && line[i] !== 0x09)) {
        throw new RespProtocolError("unbalanced quotes in request");
      }
      words.push(Buffer.from(bytes));
      continue;
    }
    const start = i;
    while (i < n && line[i] !== 0x20 && line[i] !== 0x09) i++;
    words.push(line.subarray(start, i));
  }
  return words;
}

function parseHexByte(a: number | undefined, b: number | undefined): number {
  const h = hexDigit(a);
  const l = hexDigit(b);
  return h < 0 || l < 0 ? -1 : h * 16 + l;
}

function hexDigit(c: number | undefined): number {
  if (c === undefined) return -1;
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
