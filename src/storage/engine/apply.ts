// What applying a batch of committed entries means for a key-value engine, shared by every
// engine: normal entries with data carry plain puts (src/proposal/proposal.ts) whose key is
// set to their value, or commands (src/proposal/command.ts, applied by kv-apply.ts); empty
// entries (a new leader's first entry) and configuration changes (membership goes through
// setConfState) change no key.
import { type DecodedCommand, decodeCommand } from "../../proposal/command.js";
import type { KvWrite, StateCommand } from "../../proposal/kv.js";
import { decodeProposal } from "../../proposal/proposal.js";
import { type Entry, EntryType } from "../../raft/types.js";
import { EngineError } from "../errors.js";

/** Calls `put` for every key write in `entries`, in order; a malformed proposal throws. */
export function forEachPut(
  entries: readonly Entry[],
  put: (key: Uint8Array, value: Uint8Array) => void,
): void {
  for (const e of entries) {
    if (e.type !== EntryType.Normal || e.data.byteLength === 0) continue;
    let p: ReturnType<typeof decodeProposal>;
    try {
      p = decodeProposal(e.data);
    } catch (err) {
      throw new EngineError(
        "apply-failed",
        `cannot apply entry ${e.index} (term ${e.term}): ${(err as Error).message}`,
      );
    }
    put(p.key, p.value);
  }
}

/**
 * The part of `entries` not yet applied by an engine applied up to `applied`: entries at or
 * below it were applied before (a restarted node replaying its log) and are skipped; an
 * entry beyond applied + 1, or out of order, would leave a hole in the state and throws.
 */
export function unapplied(entries: readonly Entry[], applied: number): readonly Entry[] {
  let skip = 0;
  while (skip < entries.length && entries[skip]!.index <= applied) skip++;
  for (let k = skip; k < entries.length; k++) {
    const index = entries[k]!.index;
    const want = applied + 1 + (k - skip);
    if (index !== want) {
      throw new RangeError(
        `apply: got entry ${index} where ${want} was due; entries must be applied in order without gaps`,
      );
    }
  }
  return skip === 0 ? entries : entries.slice(skip);
}

/** Decodes a command entry; a malformed one throws naming the entry. */
export function decodeEntryCommand(e: Entry): DecodedCommand {
  try {
    return decodeCommand(e.data);
  } catch (err) {
    throw new EngineError(
      "apply-failed",
      `cannot apply entry ${e.index} (term ${e.term}): ${(err as Error).message}`,
    );
  }
}

/** Whether `bytes` begins with `prefix`. */
export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The keys a command names (for a length check before anything is applied). */
export function commandKeys(c: StateCommand): readonly Uint8Array[] {
  switch (c.op) {
    case "mset":
      return c.pairs.map(([k]) => k);
    case "del":
      return c.keys;
    case "member-addresses":
    case "forget-member":
      return [];
    default:
      return [(c as Extract<KvWrite, { key: Uint8Array }>).key];
  }
}
