// Wires the real Raft core into the Peer.

import type { RaftBinding } from "../peer/contracts.js";
import { decodeConfChange } from "../raft/confchange.js";
import { RawNode } from "../raft/rawnode.js";

export const rawNodeBinding: RaftBinding = {
  createNode: (config) => new RawNode(config),
  decodeConfChange,
};
