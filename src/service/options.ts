// What a key-value service node is built from: a node's options plus the front-ends', the
// read mode, forwarding or redirect, membership at start and the limits.
import type { NodeOptions } from "../node/options.js";
import type { ReadMode } from "./contract.js";
import type { KvLimits } from "./limits.js";

export interface Listen {
  host: string;
  port: number;
}

export interface ServiceOptions extends NodeOptions {
  /** Where the RESP2 server listens (port 0: any free port). */
  resp: Listen;
  /** Where the HTTP server listens. */
  http: Listen;
  /** A member's HTTP base URL to join through; the node starts with no configuration. */
  join?: string;
  /** Followers answer writes with MOVED / 307 instead of forwarding them to the leader. */
  redirect: boolean;
  reads: ReadMode;
  limits: KvLimits;
  /** Install the transport's partition switch and answer RAFTTOY.PARTITION / HEAL (tests). */
  adminFaults?: boolean;
}

/** "host:port" of a listen address, IPv6 hosts in brackets. */
export function formatListen(l: Listen): string {
  return l.host.includes(":") ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}
