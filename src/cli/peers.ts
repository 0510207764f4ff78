import { UsageError } from "../errors/errors.js";
import type { PeerAddress } from "../node/options.js";

const HOST_PORT =
  /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)):(\d{1,5})$/;

/**
 * Parses --peers "host:port,host:port,...". Throws an Error that says what to change for an
 * empty list or entry, a malformed entry, a port outside 1..65535, or a repeated address.
 */
export function parsePeers(text: string): PeerAddress[] {
  if (text.trim() === "") {
    throw new UsageError(
      "--peers is empty: list every member as host:port, e.g. 127.0.0.1:7001,127.0.0.1:7002",
    );
  }
  const peers: PeerAddress[] = [];
  const seen = new Map<string, number>();
  text.split(",").forEach((raw, i) => {
    const entry = raw.trim();
    const id = i + 1;
    const match = HOST_PORT.exec(entry);
    if (match === null) {
      throw new UsageError(
        `--peers entry ${id} ${JSON.stringify(entry)} is not host:port: write e.g. 127.0.0.1:7001 or [::1]:7001`,
      );
    }
    const ipv6 = match[1];
    const host = ipv6 ?? match[2]!;
    const port = Number(match[3]);
    if (port < 1 || port > 65535) {
      throw new UsageError(
        `--peers entry ${id} ${JSON.stringify(entry)} has port ${port}: use 1..65535`,
      );
    }
    const address = ipv6 === undefined ? `${host}:${port}` : `[${host}]:${port}`;
    const key = address.toLowerCase();
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      throw new UsageError(
        `--peers entries ${earlier} and ${id} are both ${address}: give each member its own host:port`,
      );
    }
    seen.set(key, id);
    peers.push({ id, host, port, address });
  });
  return peers;
}
