// The transport registry: every kind by name, so a new transport is one file and one line.
import { Registry } from "../units/registry.js";
import { TransportError } from "./errors.js";
import { GrpcTransport } from "./grpc-transport.js";
import { LocalNetwork } from "./local-transport.js";
import type { NetDelay } from "./net-delay.js";
import { TcpTransport } from "./tcp-transport.js";
import type { TransportLogger as Logger, Transport } from "./transport.js";

export interface TransportConfig {
  /** This peer's id. */
  id: number;
  /** Every peer's id and `host:port`, this one included (the local kind ignores addresses). */
  peers: ReadonlyMap<number, string>;
  /** Largest message on the wire; gRPC limits are derived from it. */
  maxMessageBytes?: number;
  logger?: Logger;
  /** One-way delay per link (--net-delay); the local kind has none. */
  netDelay?: NetDelay;
  /** The in-process network for the local kind; one shared per process when omitted. */
  localNetwork?: LocalNetwork;
}

export interface TransportSpec {
  name: string;
  description: string;
  /** Whether it connects processes (a choice for --transport), or only peers of one process. */
  betweenProcesses: boolean;
  create(config: TransportConfig): Transport;
}

let processNetwork: LocalNetwork | undefined;

const registry = new Registry<TransportSpec>(
  [
    {
      name: "grpc",
      description: "gRPC over HTTP/2: one stream per peer, batches encoded once by hand",
      betweenProcesses: true,
      create: (config) =>
        new GrpcTransport({
          id: config.id,
          peers: config.peers,
          maxMessageBytes: config.maxMessageBytes,
          logger: config.logger,
          netDelay: config.netDelay,
        }),
    },
    {
      name: "tcp",
      description: "raw TCP: one connection per pair of peers, length-prefixed batch frames",
      betweenProcesses: true,
      create: (config) =>
        new TcpTransport({
          id: config.id,
          peers: config.peers,
          maxMessageBytes: config.maxMessageBytes,
          logger: config.logger,
          netDelay: config.netDelay,
        }),
    },
    {
      name: "local",
      description: "in-process delivery between peers of one process (tests, single-process runs)",
      betweenProcesses: false,
      create: (config) => {
        processNetwork ??= new LocalNetwork();
        return (config.localNetwork ?? processNetwork).transport(config.id);
      },
    },
  ],
  (name, names) =>
    new TransportError(
      "unknown-transport",
      `unknown transport "${name}": use one of ${names.join(", ")}`,
    ),
);

/** Every transport name, in registry order. */
export const transportKinds: readonly string[] = registry.names;

/** The transports that connect processes: the choices of --transport. */
export const processTransportKinds: readonly string[] = registry.specs
  .filter((s) => s.betweenProcesses)
  .map((s) => s.name);

/** The spec registered under `name`; an unknown name throws, listing the names that exist. */
export function transportSpec(name: string): TransportSpec {
  return registry.get(name);
}
