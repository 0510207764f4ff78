import { UsageError } from "../errors/errors.js";
import type { PeerAddress } from "../node/options.js";
import { splitHostPort, validPort } from "../transport/address.js";

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
    const parsed = splitHostPort(entry);
    if (parsed === undefined) {
      throw new UsageError(
        `--peers entry ${id} ${JSON.stringify(entry)} is not host:port: write e.g. 127.0.0.1:7001 or [::1]:7001`,
      );
    }
    const { host, port, address } = parsed;
    if (!validPort(port)) {
      throw new UsageError(
        `--peers entry ${id} ${JSON.stringify(entry)} has port ${port}: use 1..65535`,
      );
    }
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
