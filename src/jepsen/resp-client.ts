// A minimal RESP2 client for the Jepsen-style run: one connection, one command at a time
// (each client is sequential), a deadline per command after which the connection is
// dropped (the command's outcome is then unknown). Written for the run so that a reply is
// seen exactly as the server sent it, with no client-side retries or reconnection logic
// that would blur what the history records.
import { connect, type Socket } from "node:net";

export type RespReply = string | number | null | RespError | RespReply[];

export class RespError {
  constructor(readonly message: string) {}
  /** The first word: CLUSTERDOWN, MOVED, WRONGTYPE, ERR … */
  get code(): string {
    return this.message.split(" ", 1)[0] ?? "";
  }
}

/** Why a command has no reply: the deadline passed, or the connection failed or closed. */
export class RespUnknown extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RespUnknown";
  }
}

export class RespConnection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: RespReply) => void; reject: (e: Error) => void } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {}

  /** Sends one command and waits for its reply, at most `timeoutMs`. */
  async command(args: readonly string[], timeoutMs: number): Promise<RespReply> {
    if (this.waiting !== undefined) throw new Error("RespConnection: one command at a time");
    const socket = await this.connected(timeoutMs);
    return new Promise<RespReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.drop();
        reject(new RespUnknown(`no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      socket.write(encodeCommand(args));
    });
  }

  close(): void {
    this.drop();
  }

  private connected(timeoutMs: number): Promise<Socket> {
    if (this.socket !== undefined) return Promise.resolve(this.socket);
    return new Promise<Socket>((resolve, reject) => {
      const socket = connect({ host: this.host, port: this.port, noDelay: true });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RespUnknown(`cannot connect within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        this.socket = socket;
        this.buffer = Buffer.alloc(0);
        resolve(socket);
      });
      socket.on("data", (chunk: Buffer) => this.received(chunk));
      socket.on("error", (err) => {
        clearTimeout(timer);
        if (this.socket !== socket) reject(new RespUnknown(`cannot connect: ${err.message}`));
        this.fail(socket, `connection error: ${err.message}`);
      });
      socket.on("close", () => this.fail(socket, "connection closed"));
    });
  }

  private received(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const parsed = parseReply(this.buffer, 0);
    if (parsed === undefined) return;
    this.buffer = this.buffer.subarray(parsed.end);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve(parsed.reply);
  }

  private fail(socket: Socket, why: string): void {
    if (this.socket === socket) this.socket = undefined;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(new RespUnknown(why));
  }

  private drop(): void {
    const socket = this.socket;
    this.socket = undefined;
    this.waiting = undefined;
    socket?.destroy();
  }
}

export function encodeCommand(args: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg, "utf8");
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/** One reply from `buf` at `at`, or undefined when it is not complete yet. */
export function parseReply(buf: Buffer, at: number): { reply: RespReply; end: number } | undefined {
  const lineEnd = buf.indexOf("\r\n", at);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[at] ?? 0);
  const line = buf.toString("utf8", at + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { reply: line, end: next };
    case "-":
      return { reply: new RespError(line), end: next };
    case ":":
      return { reply: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { reply: null, end: next };
      if (buf.length < next + length + 2) return undefined;
      return { reply: buf.toString("utf8", next, next + length), end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { reply: null, end: next };
      const items: RespReply[] = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, end);
        if (item === undefined) return undefined;
        items.push(item.reply);
        end = item.end;
      }
      return { reply: items, end };
    }
    default:
      throw new Error(`unexpected RESP reply type ${JSON.stringify(type)}`);
  }
}
