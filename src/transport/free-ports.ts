// Free loopback ports for a local cluster and for tests that start listeners of their own.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

/**
 * Free loopback ports outside the kernel's ephemeral range. A port the kernel hands out for
 * port 0 and that is then released can be taken again at once as the source port of any
 * outgoing connection (another test's, another process's) before our child binds it; a port
 * outside that range can only be taken by another listener. Each candidate is checked by
 * listening on it, and distinct ones are picked at random so two pickers rarely meet.
 */
export async function freePorts(n: number): Promise<number[]> {
  const [lo, hi] = portPool();
  const ports = new Set<number>();
  for (let tries = 0; ports.size < n; tries++) {
    if (tries > 1_000) throw new Error(`no ${n} free loopback ports in ${lo}-${hi}`);
    const p = lo + Math.floor(Math.random() * (hi - lo + 1));
    if (!ports.has(p) && (await canListen(p))) ports.add(p);
  }
  return [...ports];
}

/** The range to pick from: just below the ephemeral range when there is room, else above it. */
function portPool(): [number, number] {
  let low = 32768;
  let high = 60999;
  try {
    const [a, b] = readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8")
      .trim()
      .split(/\s+/)
      .map(Number);
    if (Number.isInteger(a) && Number.isInteger(b)) [low, high] = [a!, b!];
  } catch {
    // Not Linux: keep the usual range.
  }
  if (low - 1 >= 11_024) return [low - 11_000, low - 1];
  return [Math.min(high + 1, 65_000), 65_535];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
