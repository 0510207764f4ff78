// Wires the real Raft core into the Peer.
import { decodeConfChange } from "../raft/confchange.js";
import { RawNode } from "../raft/rawnode.js";
import type { RaftBinding } from "./contracts.js";

export const rawNodeBinding: RaftBinding = {
  createNode: (config) => new RawNode(config),
  decodeConfChange,
};
