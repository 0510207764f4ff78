// The HTTP front-end on node:http. Keys are the percent-decoded bytes of the path after /kv/
// (so any byte string can be named); values are request and response bodies as raw bytes.
// Every error is JSON: {"error": {"code": "...", "message": "..."}}.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { listen } from "../../transport/address.js";
import {
  BackendError,
  type KvBackend,
  type KvReadView,
  type KvResult,
  type KvWrite,
  type ReadMode,
} from "../contract.js";
import { type KvLimits, keyCountViolations, NO_LIMITS, sizeViolation } from "../limits.js";
import { type FrontMetrics, NO_FRONT_METRICS, type ServiceMetrics } from "../metrics.js";
import { RELAYED_HEADER, relayToLeader } from "./leader-relay.js";

export interface HttpServerOptions {
  backend: KvBackend;
  readMode: ReadMode;
  limits?: KvLimits;
  metrics?: FrontMetrics;
  /** Serves GET /metrics when given. */
  registry?: ServiceMetrics;
  /** Largest request body accepted when --max-value-bytes is not set. */
  maxBodyBytes?: number;
}

const DEFAULT_MAX_BODY = 16 * 1024 * 1024;
/** Most pairs GET /kv?prefix= answers without an explicit, larger limit. */
const DEFAULT_SCAN_LIMIT = 1000;
const MAX_SCAN_LIMIT = 100_000;
/** A join waits for the new member to catch up: the relay waits as long as the leader may. */
const MEMBERSHIP_RELAY_TIMEOUT_MS = 130_000;

/** An error answered to the client: status, JSON code, message, extra headers. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The bytes a percent-encoded path segment stands for (invalid escapes are kept literally). */
export function percentDecode(s: string): Buffer {
  if (!s.includes("%")) return Buffer.from(s, "utf8");
  const out: number[] = [];
  const raw = Buffer.from(s, "utf8");
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as number;
    if (c === 0x25 && i + 2 < raw.length) {
      const h = Number.parseInt(
        String.fromCharCode(raw[i + 1] as number, raw[i + 2] as number),
        16,
      );
      if (!Number.isNaN(h)) {
        out.push(h);
        i += 2;
        continue;
      }
    }
    out.push(c);
  }
  return Buffer.from(out);
}

/** The key a /kv/{key} path names; an empty one is a bad request. */
function keyOf(path: string): Buffer {
  const key = percentDecode(path.slice(4));
  if (key.length === 0) throw new HttpError(400, "bad-request", "empty key");
  return key;
}

function limitError(message: string, limit: string): HttpError {
  // A value over the limit is a body too large (413); a key or the key count is a bad request.
  return new HttpError(limit === "max-value-bytes" ? 413 : 400, limit, message);
}

export class HttpServer {
  private readonly server: Server;
  private readonly backend: KvBackend;
  private readonly metrics: FrontMetrics;
  private readonly limits: KvLimits;
  private readonly maxBody: number;

  constructor(readonly options: HttpServerOptions) {
    this.backend = options.backend;
    this.metrics = options.metrics ?? NO_FRONT_METRICS;
    this.limits = options.limits ?? NO_LIMITS;
    this.maxBody =
      this.limits.maxValueBytes > 0
        ? this.limits.maxValueBytes
        : (options.maxBodyBytes ?? DEFAULT_MAX_BODY);
    this.server = createServer((req, res) => {
      try {
        this.handle(req, res)?.catch((e: unknown) => this.fail(req, res, e));
      } catch (e) {
        this.fail(req, res, e);
      }
    });
    this.server.keepAliveTimeout = 60_000;
    this.server.on("connection", (socket) => socket.setNoDelay(true));
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return listen(this.server, host, port);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /**
   * Answers a request; a promise only for the routes that wait for something other than a
   * read (a body, a write, a membership change): GET /kv/{key} is answered from the read's
   * callback, with no promise or await of its own.
   */
  private handle(req: IncomingMessage, res: ServerResponse): Promise<void> | undefined {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    if (req.method === "GET" && path.startsWith("/kv/")) {
      this.getKey(res, keyOf(path));
      return undefined;
    }
    return this.route(req, res, path, q < 0 ? "" : url.slice(q + 1));
  }

  private async route(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    queryText: string,
  ): Promise<void> {
    const method = req.method ?? "GET";
    if (path.startsWith("/kv/")) {
      const key = keyOf(path);
      if (method === "PUT" || method === "POST") {
        const value = await this.body(req);
        this.resultError(await this.write({ op: "set", key, value }));
        return reply(res, 204);
      }
      if (method === "DELETE") {
        const result = await this.write({ op: "del", keys: [key] });
        return json(res, 200, { deleted: result.kind === "integer" ? Number(result.value) : 0 });
      }
      throw notAllowed(method, "GET, PUT, DELETE");
    }
    if (path === "/kv") {
      if (method !== "GET") throw notAllowed(method, "GET");
      return this.scan(res, new URLSearchParams(queryText));
    }
    if (path.startsWith("/queue/")) {
      if (method !== "POST") throw notAllowed(method, "POST");
      const rest = path.slice(7);
      if (rest.endsWith("/pop")) {
        const key = percentDecode(rest.slice(0, -4));
        const result = await this.write({ op: "pop", key, end: "left" });
        this.resultError(result);
        const value = result.kind === "bulk" ? result.value : null;
        if (value === null) throw new HttpError(404, "empty", "the queue is empty");
        return reply(res, 200, Buffer.from(value), "application/octet-stream");
      }
      const key = percentDecode(rest);
      if (key.length === 0) throw new HttpError(400, "bad-request", "empty queue name");
      const value = await this.body(req);
      const result = await this.write({ op: "push", key, values: [value], end: "right" });
      this.resultError(result);
      return json(res, 200, { length: result.kind === "integer" ? Number(result.value) : 0 });
    }
    if (path === "/cluster") {
      if (method !== "GET") throw notAllowed(method, "GET");
      this.metrics.requests("http", "local", 1);
      return json(res, 200, this.backend.cluster());
    }
    if (path === "/cluster/join") {
      if (method !== "POST") throw notAllowed(method, "POST");
      const body = await this.body(req);
      const member = parseMember(body);
      return this.membership(req, res, () => this.backend.join(member), body);
    }
    if (path.startsWith("/cluster/")) {
      if (method !== "DELETE") throw notAllowed(method, "DELETE");
      const id = Number(path.slice(9));
      if (!Number.isInteger(id) || id <= 0) {
        throw new HttpError(400, "bad-request", `not a node id: ${path.slice(9)}`);
      }
      return this.membership(req, res, () => this.backend.remove(id), undefined);
    }
    if (path === "/health") {
      const ok = this.backend.healthy();
      const c = this.backend.cluster();
      return json(res, ok ? 200 : 503, { ok, role: c.role, leader: c.leader });
    }
    if (path === "/metrics" && this.options.registry !== undefined) {
      const m = this.options.registry;
      return reply(res, 200, Buffer.from(await m.text()), m.contentType);
    }
    throw new HttpError(404, "not-found", `no route ${method} ${path}`);
  }

  /** Runs a membership change here, or on the leader when this node is a follower. */
  private async membership(
    req: IncomingMessage,
    res: ServerResponse,
    change: () => Promise<void>,
    body: Buffer | undefined,
  ): Promise<void> {
    try {
      await change();
    } catch (e) {
      const leader = e instanceof BackendError && e.code === "moved" ? e.leader : undefined;
      // A relayed request is answered where it landed: a leader that moved meanwhile
      // gives its 307 back through the relay rather than starting a chain of relays.
      if (leader?.http === undefined || req.headers[RELAYED_HEADER] !== undefined) throw e;
      const answer = await relayToLeader(
        { id: leader.id, http: leader.http },
        req.method ?? "POST",
        req.url ?? "/",
        body,
        MEMBERSHIP_RELAY_TIMEOUT_MS,
      );
      return reply(res, answer.status, answer.body, answer.contentType);
    }
    return json(res, 200, this.backend.cluster());
  }

  private getKey(res: ServerResponse, key: Buffer): void {
    this.metrics.requests("http", "read", 1);
    const t0 = performance.now();
    this.backend.readWith(this.options.readMode, {
      view: (view) => {
        this.metrics.readWait("http", (performance.now() - t0) / 1000);
        try {
          this.answerKey(res, key, view);
        } catch (e) {
          this.fail(res.req, res, e);
        }
      },
      fail: (e) => this.fail(res.req, res, e),
    });
  }

  /** Answered in the view's own call: views are not read later. */
  private answerKey(res: ServerResponse, key: Buffer, view: KvReadView): void {
    const value = view.get(key);
    if (value === null) {
      if (view.exists(key)) {
        throw new HttpError(409, "wrong-type", "the key holds a queue, not a value");
      }
      throw new HttpError(404, "not-found", "no such key");
    }
    reply(
      res,
      200,
      Buffer.from(value.buffer, value.byteOffset, value.byteLength),
      "application/octet-stream",
    );
  }

  private async scan(res: ServerResponse, query: URLSearchParams): Promise<void> {
    this.metrics.requests("http", "read", 1);
    const prefix = percentDecode(query.get("prefix") ?? "");
    const limitText = query.get("limit");
    const limit = limitText === null ? DEFAULT_SCAN_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit <= 0 || limit > MAX_SCAN_LIMIT) {
      throw new HttpError(400, "bad-request", `limit must be 1..${MAX_SCAN_LIMIT}`);
    }
    const encoding = query.get("encoding") ?? "utf8";
    if (encoding !== "utf8" && encoding !== "base64") {
      throw new HttpError(400, "bad-request", "encoding must be utf8 or base64");
    }
    const view = await this.view();
    const items = view.scanPrefix(prefix, limit).map(([k, v]) => ({
      key: Buffer.from(k).toString(encoding),
      value: Buffer.from(v).toString(encoding),
    }));
    json(res, 200, { items, encoding });
  }

  private async view() {
    const t0 = performance.now();
    const view = await this.backend.read(this.options.readMode);
    this.metrics.readWait("http", (performance.now() - t0) / 1000);
    return view;
  }

  private async write(write: KvWrite): Promise<KvResult> {
    this.metrics.requests("http", "write", 1);
    const bad = sizeViolation(write, this.limits);
    if (bad !== null) throw limitError(bad.message, bad.limit);
    if (this.limits.maxKeys > 0) {
      const [v] = keyCountViolations([write], this.limits, await this.backend.read("stale"));
      if (v) throw limitError(v.message, v.limit);
    }
    const t0 = performance.now();
    const result = await this.backend.write(write);
    this.metrics.writeBatch("http", 1, (performance.now() - t0) / 1000);
    return result;
  }

  /** Throws the HTTP error for a refused write; null when the write succeeded. */
  private resultError(result: KvResult): null {
    if (result.kind !== "error") return null;
    throw new HttpError(409, result.code, result.message);
  }

  /** The request body, refused with 413 past the limit without buffering the rest. */
  private body(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers["content-length"] ?? "0");
    if (declared > this.maxBody) {
      return Promise.reject(this.tooLarge(declared));
    }
    return new Promise((resolve, reject) => {
      const parts: Buffer[] = [];
      let size = 0;
      req.on("data", (c: Buffer) => {
        size += c.length;
        if (size > this.maxBody) {
          req.removeAllListeners("data");
          req.resume();
          reject(this.tooLarge(size));
          return;
        }
        parts.push(c);
      });
      req.on("end", () =>
        resolve(parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts)),
      );
      req.on("error", reject);
    });
  }

  private tooLarge(size: number): HttpError {
    return this.limits.maxValueBytes > 0
      ? limitError(
          `value is ${size} bytes, over --max-value-bytes ${this.limits.maxValueBytes}`,
          "max-value-bytes",
        )
      : new HttpError(413, "body-too-large", `body is ${size} bytes, over ${this.maxBody}`);
  }

  private fail(req: IncomingMessage, res: ServerResponse, e: unknown): void {
    const err = toHttpError(e, req);
    this.metrics.error("http", err.code);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    res.writeHead(err.status, { "content-type": "application/json", ...err.headers });
    res.end(JSON.stringify({ error: { code: err.code, message: err.message } }));
  }
}

function toHttpError(e: unknown, req: IncomingMessage): HttpError {
  if (e instanceof HttpError) return e;
  if (e instanceof BackendError) {
    switch (e.code) {
      case "no-leader":
        return new HttpError(503, e.code, e.message, { "retry-after": "1" });
      case "moved":
        if (e.leader?.http) {
          return new HttpError(307, e.code, `the leader is node ${e.leader.id}`, {
            location: `http://${e.leader.http}${req.url ?? "/"}`,
          });
        }
        return new HttpError(503, "no-leader", "the leader has no HTTP address", {
          "retry-after": "1",
        });
      case "limit":
        return new HttpError(400, e.code, e.message);
      case "timeout":
        return new HttpError(504, e.code, `${e.message} (the write may still apply)`);
      case "unavailable":
        return new HttpError(503, e.code, e.message, { "retry-after": "1" });
      case "bad-request":
        return new HttpError(400, e.code, e.message);
    }
  }
  const message = e instanceof Error ? e.message : String(e);
  return new HttpError(500, "internal", message);
}

function notAllowed(method: string, allowed: string): HttpError {
  return new HttpError(405, "method-not-allowed", `${method} is not allowed here`, {
    allow: allowed,
  });
}

function parseMember(body: Buffer): { id: number; raft: string; resp?: string; http?: string } {
  let v: unknown;
  try {
    v = JSON.parse(body.toString("utf8"));
  } catch {
    throw new HttpError(400, "bad-request", 'body must be JSON: {"id": 4, "raft": "host:port"}');
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== "object" || o === null || !Number.isInteger(o.id) || (o.id as number) <= 0) {
    throw new HttpError(400, "bad-request", "id must be a positive integer");
  }
  if (typeof o.raft !== "string" || !/^[^:\s]+:\d+$/.test(o.raft)) {
    throw new HttpError(400, "bad-request", "raft must be host:port");
  }
  const member: { id: number; raft: string; resp?: string; http?: string } = {
    id: o.id as number,
    raft: o.raft,
  };
  if (typeof o.resp === "string") member.resp = o.resp;
  if (typeof o.http === "string") member.http = o.http;
  return member;
}

function reply(res: ServerResponse, status: number, body?: Buffer, type?: string): void {
  if (body === undefined) {
    res.writeHead(status);
    res.end();
    return;
  }
  res.writeHead(status, {
    "content-type": type ?? "application/octet-stream",
    "content-length": body.length,
  });
  res.end(body);
}

function json(res: ServerResponse, status: number, value: unknown): void {
  reply(
    res,
    status,
    Buffer.from(JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? Number(v) : v))),
    "application/json",
  );
}
