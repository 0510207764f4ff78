// Stable, readable text forms of the core's values, for transcripts and assertion messages.
import type { Ready } from "../api.js";
import { LOCAL_APPEND_THREAD, LOCAL_APPLY_THREAD } from "../api.js";
import { decodeConfChange } from "../confchange.js";
import {
  ConfChangeType,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type Message,
  messageTypeName,
  type Snapshot,
} from "../types.js";

const confChangeNames: Record<number, string> = {
  [ConfChangeType.AddNode]: "AddNode",
  [ConfChangeType.RemoveNode]: "RemoveNode",
  [ConfChangeType.UpdateNode]: "UpdateNode",
  [ConfChangeType.AddLearnerNode]: "AddLearner",
};

const decoder = new TextDecoder();

function formatData(data: Uint8Array): string {
  if (data.byteLength === 0) return "";
  const printable = data.every((b) => b >= 0x20 && b < 0x7f);
  if (printable && data.byteLength <= 32) return ` "${decoder.decode(data)}"`;
  return ` <${data.byteLength} bytes>`;
}

export function formatNodeId(id: number): string {
  if (id === LOCAL_APPEND_THREAD) return "AppendThread";
  if (id === LOCAL_APPLY_THREAD) return "ApplyThread";
  return String(id);
}

export function formatEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) {
    const cc = decodeConfChange(e.data);
    return `${e.term}/${e.index} ${confChangeNames[cc.type]} ${cc.nodeId}`;
  }
  return `${e.term}/${e.index}${formatData(e.data)}`;
}

export function formatEntries(ents: readonly Entry[]): string {
  return `[${ents.map(formatEntry).join(", ")}]`;
}

export function formatHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

export function formatConfState(cs: ConfState): string {
  return `voters=(${cs.voters.join(" ")}) learners=(${cs.learners.join(" ")})`;
}

export function formatSnapshot(s: Snapshot): string {
  return `Snapshot Index:${s.metadata.index} Term:${s.metadata.term} ${formatConfState(s.metadata.confState)}`;
}

export function formatMessage(m: Message, indent = ""): string {
  let s = `${formatNodeId(m.from)}->${formatNodeId(m.to)} ${messageTypeName(m.type)} Term:${m.term}`;
  if (m.logTerm !== 0 || m.index !== 0) s += ` Log:${m.logTerm}/${m.index}`;
  if (m.commit !== 0) s += ` Commit:${m.commit}`;
  if (m.vote !== 0) s += ` Vote:${m.vote}`;
  if (m.reject) s += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.context.byteLength > 0) s += ` Context:${formatData(m.context).trim()}`;
  if (m.entries.length > 0) s += ` Entries:${formatEntries(m.entries)}`;
  if (m.snapshot !== undefined) s += ` ${formatSnapshot(m.snapshot)}`;
  if (m.responses !== undefined && m.responses.length > 0) {
    s += " Responses:";
    for (const r of m.responses) s += `\n${indent}  ${formatMessage(r, `${indent}  `)}`;
  }
  return s;
}

export function formatReady(rd: Ready, indent = "  "): string {
  const lines: string[] = [`Ready MustSync=${rd.mustSync}:`];
  if (rd.softState !== undefined) lines.push(`Lead:${rd.softState.lead} Role:${rd.softState.role}`);
  if (rd.hardState !== undefined) lines.push(`HardState ${formatHardState(rd.hardState)}`);
  if (rd.entries.length > 0) lines.push(`Entries: ${formatEntries(rd.entries)}`);
  if (rd.snapshot !== undefined) lines.push(formatSnapshot(rd.snapshot));
  if (rd.committedEntries.length > 0)
    lines.push(`CommittedEntries: ${formatEntries(rd.committedEntries)}`);
  for (const rs of rd.readStates)
    lines.push(`ReadState Index:${rs.index} Ctx:${formatData(rs.requestCtx).trim()}`);
  if (rd.messages.length > 0) {
    lines.push("Messages:");
    for (const m of rd.messages) lines.push(`  ${formatMessage(m, `${indent}  `)}`);
  }
  return lines.map((l) => indent + l).join("\n");
}
