// Peer addresses and option checks shared by the transports.
import type { AddressInfo, Server } from "node:net";
import { TransportError } from "./errors.js";

/** A `host:port` split in two: `address` is the canonical text (IPv6 hosts bracketed). */
export interface HostPort {
  /** Without the brackets of an IPv6 literal, as `net` and DNS want it. */
  host: string;
  port: number;
  address: string;
}

// A hostname or IPv4 address, or a bracketed IPv6 literal, then a port of up to 5 digits.
const HOST_PORT =
  /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(\d{1,5})$/;

/**
 * The one `host:port` reader (--peers, the transports' listen and dial addresses): its
 * parts, or undefined when the text is not of that shape. The port is not range-checked:
 * see validPort, so that each caller can say what to change in its own words.
 */
export function splitHostPort(text: string): HostPort | undefined {
  const match = HOST_PORT.exec(text);
  if (match === null) return undefined;
  const ipv6 = match[1];
  const host = ipv6 ?? match[2]!;
  const port = Number(match[3]);
  return { host, port, address: ipv6 === undefined ? `${host}:${port}` : `[${host}]:${port}` };
}

export function validPort(port: number): boolean {
  return port >= 1 && port <= 65535;
}

/** Parses `host:port` (host may be a bracketed IPv6 address); throws a one-line error. */
export function parseAddress(address: string, what: string): HostPort {
  const parsed = splitHostPort(address);
  if (parsed === undefined || !validPort(parsed.port)) {
    throw new TransportError(
      "bad-address",
      `${what}: "${address}" is not host:port with a port from 1 to 65535`,
    );
  }
  return parsed;
}

/** `value` if it is a positive safe integer; otherwise a RangeError naming `what`. */
export function checkPositive(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`${what} must be a positive integer, got ${value}`);
  }
  return value;
}

/**
 * Checks that `peers` names `id` and that every entry is a positive id with a valid
 * address; returns this peer's own address.
 */
export function checkPeers(id: number, peers: ReadonlyMap<number, string>): string {
  checkPositive(id, "transport id");
  const address = peers.get(id);
  if (address === undefined) {
    throw new TransportError(
      "bad-address",
      `id ${id} is not in the peer list (ids ${[...peers.keys()].join(", ")})`,
    );
  }
  for (const [peerId, peerAddress] of peers) {
    checkPositive(peerId, "peer id");
    parseAddress(peerAddress, `address of peer ${peerId}`);
  }
  return address;
}

/**
 * Starts `server` listening on host:port and resolves with the bound address, or rejects with
 * the listen error (a port in use, an address not on this machine) instead of leaving it to
 * the server's "error" event. Works for node:net and node:http servers alike.
 */
export function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
