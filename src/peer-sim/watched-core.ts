// The real Raft core for a simulated node, reporting the entries each Ready hands out. The
// checks' view of a node's log ("what the core has handed out") must be fed when the core
// hands entries over, not when a disk write starts: a pipeline that queues appends behind a
// slow disk (async-storage) holds entries its disk has not seen yet, and a leader holding
// them in its log is complete although its disk lags.

import { rawNodeBinding } from "../node/raft-binding.js";
import type { RaftBinding } from "../peer/contracts.js";
import { LOCAL_APPEND_THREAD, type Ready } from "../raft/api.js";
import type { Entry } from "../raft/types.js";

/**
 * The runs of entries a Ready hands out for the log: its own and those of its local append
 * messages (with asynchronous storage writes both may carry the same run), each contiguous.
 */
function handedRuns(rd: Ready): (readonly Entry[])[] {
  const runs: (readonly Entry[])[] = [];
  if (rd.entries.length > 0) runs.push(rd.entries);
  for (const m of rd.messages) {
    if (m.to === LOCAL_APPEND_THREAD && m.entries.length > 0) runs.push(m.entries);
  }
  return runs;
}

export function watchedCore(onHanded: (entries: readonly Entry[]) => void): RaftBinding {
  return {
    createNode: (config) => {
      const node = rawNodeBinding.createNode(config);
      const ready = node.ready.bind(node);
      // Overriding the one method on this instance keeps every other call on the real core.
      node.ready = () => {
        const rd = ready();
        for (const run of handedRuns(rd)) onHanded(run);
        return rd;
      };
      return node;
    },
    decodeConfChange: rawNodeBinding.decodeConfChange,
  };
}
