// RESP2 reply encoding. A reply is a list of byte pieces; a connection concatenates one
// chunk's replies into one socket write.

/** One encoded reply: pieces written in order (kept apart so values are not copied twice). */
export type Reply = Buffer | Buffer[];

export const OK: Reply = Buffer.from("+OK\r\n");
export const PONG: Reply = Buffer.from("+PONG\r\n");
export const NULL_BULK: Reply = Buffer.from("$-1\r\n");
export const EMPTY_ARRAY: Reply = Buffer.from("*0\r\n");
const ZERO = Buffer.from(":0\r\n");
const ONE = Buffer.from(":1\r\n");

export function simple(text: string): Reply {
  return Buffer.from(`+${text}\r\n`);
}

/** An error reply; `message` starts with its code word (ERR, WRONGTYPE, MOVED …). */
export function error(message: string): Reply {
  // A CR or LF inside would end the reply early and desynchronise the client.
  return Buffer.from(`-${message.replace(/[\r\n]+/g, " ")}\r\n`);
}

export function integer(n: number | bigint): Reply {
  if (n === 0 || n === 0n) return ZERO;
  if (n === 1 || n === 1n) return ONE;
  return Buffer.from(`:${n}\r\n`);
}

/**
 * One buffer: `$len` CRLF, the value, CRLF. A connection's flush would concatenate the
 * pieces anyway; built here, the common one-reply chunk is written as is, and a value that
 * is a plain Uint8Array (an engine's view) needs no Buffer made over it.
 */
export function bulk(value: Uint8Array | null): Reply {
  if (value === null) return NULL_BULK;
  const n = value.byteLength;
  const head = n < 10 ? 4 : n < 100 ? 5 : n < 1000 ? 6 : n < 10000 ? 7 : 3 + String(n).length;
  const out = Buffer.allocUnsafe(head + n + 2);
  out[0] = 0x24; // '$'
  out.write(String(n), 1, "latin1");
  out[head - 2] = 0x0d;
  out[head - 1] = 0x0a;
  out.set(value, head);
  out[head + n] = 0x0d;
  out[head + n + 1] = 0x0a;
  return out;
}

export function bulkString(text: string): Reply {
  return bulk(Buffer.from(text));
}

export function array(items: readonly Reply[]): Reply {
  const out: Buffer[] = [Buffer.from(`*${items.length}\r\n`)];
  for (const item of items) {
    if (Buffer.isBuffer(item)) out.push(item);
    else for (const piece of item) out.push(piece);
  }
  return out;
}

export function bulkArray(values: readonly (Uint8Array | null)[]): Reply {
  return array(values.map(bulk));
}

/** Appends a reply's pieces to `out`. */
export function appendReply(out: Buffer[], reply: Reply): void {
  if (Buffer.isBuffer(reply)) out.push(reply);
  else for (const piece of reply) out.push(piece);
}
