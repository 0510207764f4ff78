// The messages local-cluster exchanges with its three processes over Node's IPC channel
// (spawned with an "ipc" stdio slot). The leader asks for the followers' probes at the end of
// each run and reports progress; the launcher relays the request to every follower and the
// answers back, and draws the progress. A process started by hand has no channel: it then
// measures only itself, and says so in the JSON (followerSyncSource "leader").

import type { RunProgress } from "../bench/runner.js";
import type { MetricsJson } from "../metrics/metrics.js";
import type { ProbeSnapshot } from "../metrics/probes.js";

/** Leader -> launcher -> followers: send your probes (and --metrics histograms), then reset. */
export interface CollectRequest {
  kind: "collect";
  seq: number;
}

/** Follower -> launcher. */
export interface FollowerSnapshot {
  kind: "snapshot";
  seq: number;
  id: number;
  probes: ProbeSnapshot;
  metrics: MetricsJson;
}

/** Launcher -> leader: every follower that answered in time. */
export interface CollectReply {
  kind: "collected";
  seq: number;
  followers: Record<string, { probes: ProbeSnapshot; metrics: MetricsJson }>;
}

/** Leader -> launcher: where the session stands, for the progress line. */
export interface ProgressReport extends RunProgress {
  kind: "progress";
}

export type IpcMessage = CollectRequest | FollowerSnapshot | CollectReply | ProgressReport;

export function isIpcMessage(m: unknown): m is IpcMessage {
  return typeof m === "object" && m !== null && typeof (m as { kind?: unknown }).kind === "string";
}

/** Whether this process was started with an IPC channel (by local-cluster). */
export function hasParentChannel(): boolean {
  return process.send !== undefined && process.connected;
}

/** Sends on this process's IPC channel if it has one; never keeps the process alive. */
export function sendToParent(m: IpcMessage): boolean {
  if (process.send === undefined || !process.connected) return false;
  process.send(m);
  return true;
}

/** Lets the process exit although the channel is open (it is for optional extras only). */
export function unrefChannel(): void {
  const channel = process.channel as { unref?: () => void } | undefined;
  channel?.unref?.();
}

/**
 * Leader side: asks the launcher for every follower's probes; an empty record when there is
 * no launcher or it does not answer within `timeoutMs`.
 */
export function collectFollowers(timeoutMs = 3_000): Promise<CollectReply["followers"]> {
  if (process.send === undefined || !process.connected) return Promise.resolve({});
  const seq = nextSeq++;
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if (!isIpcMessage(m) || m.kind !== "collected" || m.seq !== seq) return;
      done(m.followers);
    };
    const timer = setTimeout(() => done({}), timeoutMs);
    const done = (followers: CollectReply["followers"]) => {
      clearTimeout(timer);
      process.off("message", onMessage);
      unrefChannel();
      resolve(followers);
    };
    process.on("message", onMessage);
    sendToParent({ kind: "collect", seq });
  });
}

let nextSeq = 1;
