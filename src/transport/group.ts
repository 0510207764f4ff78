// Splits one send into one batch per destination, keeping each destination's messages in
// the order they were given.
import type { Message } from "../raft/types.js";

/** Messages grouped by `to`, in first-seen order of destinations. */
export function groupByDestination(messages: readonly Message[]): Map<number, Message[]> {
  const groups = new Map<number, Message[]>();
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i]!;
    const group = groups.get(m.to);
    if (group === undefined) groups.set(m.to, [m]);
    else group.push(m);
  }
  return groups;
}
