// Test epochs: ordering, and the small file in a node's data dir that remembers which epoch
// its durable Raft state belongs to (so a restarted follower keeps its log when the leader
// is still in that epoch, and resets it otherwise).
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import type { Epoch } from "../transport/transport.js";
import type { PeerStorage } from "./contracts.js";
import { PeerError } from "./errors.js";

/** Negative when a is older than b, 0 when equal, positive when newer. */
export function compareEpoch(a: Epoch, b: Epoch): number {
  return a.start !== b.start ? a.start - b.start : a.iteration - b.iteration;
}

export function formatEpoch(e: Epoch): string {
  return `${e.start}.${e.iteration}`;
}

/** The epoch a node starts in before it has heard of any. */
export const NO_EPOCH: Epoch = { start: 0, iteration: 0 };

export interface EpochStore {
  load(): Promise<Epoch>;
  /** Records `e` durably; called only after the state it names is durable itself. */
  save(e: Epoch): Promise<void>;
}

/** An epoch store that remembers nothing (non-durable storage, tests). */
export function memoryEpochStore(): EpochStore {
  let current = NO_EPOCH;
  return {
    load: async () => current,
    save: async (e) => {
      current = e;
    },
  };
}

/** The epoch a starting node is in, and the state it starts from. */
export interface OpenedEpoch {
  epoch: Epoch;
  /** The storage holds nothing (bootstrap the group). */
  fresh: boolean;
  /**
   * A follower restarted without the log of the epoch it was in (a mem WAL): it must not
   * answer in that epoch (the leader believes it holds entries it lost, and its votes are
   * forgotten), so it ignores the epoch and joins the next one as an empty node.
   */
  sittingOut: boolean;
}

/**
 * Opens a starting node's epoch. The epoch owner (the leader process) always begins a new
 * epoch, starting at `owner.start`, on a clean state; a follower resumes the epoch its
 * durable state belongs to.
 */
export async function openEpoch(
  storage: PeerStorage,
  store: EpochStore,
  owner: { start: number } | undefined,
): Promise<OpenedEpoch> {
  if (owner !== undefined) {
    await storage.reset();
    return { epoch: { start: owner.start, iteration: 0 }, fresh: true, sittingOut: false };
  }
  const epoch = await store.load();
  const fresh = storage.lastIndex() === 0;
  // A durable engine beside a log that was not durable: start both over.
  if (fresh && storage.appliedIndex() > 0) await storage.reset();
  return { epoch, fresh, sittingOut: fresh && compareEpoch(epoch, NO_EPOCH) !== 0 };
}

const EPOCH_FILE = "epoch.json";

/** Keeps the epoch in `<dir>/epoch.json`, replaced atomically (write, fsync, rename). */
export function fileEpochStore(dir: string): EpochStore {
  const path = join(dir, EPOCH_FILE);
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return NO_EPOCH;
        throw err;
      }
      const parsed = JSON.parse(text) as Partial<Epoch>;
      if (!Number.isSafeInteger(parsed.start) || !Number.isSafeInteger(parsed.iteration)) {
        throw new PeerError("damaged-epoch-file", `${path} is not a valid epoch file: remove it`);
      }
      return { start: parsed.start!, iteration: parsed.iteration! };
    },
    async save(e) {
      await mkdir(dir, { recursive: true });
      const tmp = `${path}.tmp`;
      const fh = await open(tmp, "w");
      try {
        await fh.writeFile(JSON.stringify({ start: e.start, iteration: e.iteration }));
        await fh.datasync();
      } finally {
        await fh.close();
      }
      await rename(tmp, path);
    },
  };
}
