// Peer addresses and option checks shared by the transports.
import { TransportError } from "./errors.js";

/** Parses `host:port` (host may be a bracketed IPv6 address); throws a one-line error. */
export function parseAddress(address: string, what: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(address);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || port < 1 || port > 65535) {
    throw new TransportError(
      "bad-address",
      `${what}: "${address}" is not host:port with a port from 1 to 65535`,
    );
  }
  return { host: match[1]!, port };
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

/** The host as `net` wants it: without the brackets of an IPv6 literal. */
export function socketHost(host: string): string {
  return host.startsWith("[") ? host.slice(1, -1) : host;
}
