// Three peers in one process (over the local transport unless told otherwise) on the real
// storage components, for end-to-end tests of the peer and every pipeline, and helpers that
// propose recognisable payloads and read back what each node logged and applied. Peer 1
// owns the test epoch, as the leader process does.

import { rawNodeBinding } from "../node/raft-binding.js";
import type { CompactEvery } from "../peer/compaction.js";
import type { PeerStorage } from "../peer/contracts.js";
import { Peer, type PeerOptions } from "../peer/peer.js";
import { decodeProposal, encodeProposal } from "../proposal/proposal.js";
import { EntryType } from "../raft/types.js";
import { decodeKvSnapshot } from "../storage/engine/kv-snapshot.js";
import { MemEngine } from "../storage/engine/mem-engine.js";
import { type Storage, split } from "../storage/storage.js";
import { MemWal } from "../storage/wal/mem-wal.js";
import { LocalNetwork } from "../transport/local-transport.js";
import type { Transport } from "../transport/transport.js";

export interface InProcessCluster {
  network: LocalNetwork;
  peers: Peer[];
  storages: Storage[];
  leader: Peer;
  stop(): Promise<void>;
}

export function memStorage(): Storage {
  return split(new MemWal(), new MemEngine());
}

export async function startInProcessCluster(
  pipeline: string,
  opts: {
    size?: number;
    seed?: number;
    transport?: (id: number) => Transport;
    compactEvery?: CompactEvery;
  } = {},
): Promise<InProcessCluster> {
  const size = opts.size ?? 3;
  const ids = Array.from({ length: size }, (_, i) => i + 1);
  const network = new LocalNetwork();
  const transport = opts.transport ?? ((id: number) => network.transport(id));
  const storages = ids.map(() => memStorage());
  const peers = ids.map((id) =>
    newTestPeer(id, ids, transport(id), storages[id - 1]!, pipeline, id === 1, opts.seed, {
      ...(opts.compactEvery !== undefined ? { compactEvery: opts.compactEvery } : {}),
    }),
  );
  await Promise.all(peers.map((p) => p.start()));
  const leader = peers[0]!;
  await leader.campaignUntilLeader(10_000);
  await leader.waitForAllCaughtUp(10_000);
  return {
    network,
    peers,
    storages,
    leader,
    stop: async () => {
      await Promise.all(peers.map((p) => p.stop()));
    },
  };
}

/** A peer with short ticks for tests; a failure inside it fails the test. */
export function newTestPeer(
  id: number,
  ids: number[],
  transport: Transport,
  storage: PeerStorage,
  pipeline: string,
  epochOwner: boolean,
  seed = 1,
  extra: Partial<PeerOptions> = {},
): Peer {
  return new Peer({
    id,
    peerIds: ids,
    transport,
    storage,
    raft: rawNodeBinding,
    pipeline,
    tickMs: 25,
    electionTicks: 10,
    heartbeatTicks: 1,
    seed,
    ...(epochOwner ? { epochOwner: { start: Date.now() } } : {}),
    onFatal: (err) => {
      throw err;
    },
    ...extra,
  });
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export interface ProposeResult {
  /** Per worker, the values it proposed and saw acknowledged, in order. */
  ackedByWorker: string[][];
  acked: string[];
  failed: string[];
}

/**
 * `conc` workers propose `count` proposals in all. Worker w writes key "w<w>" with values
 * "<tag>-<n>", one at a time, so the key's final value shows whether its writes were applied
 * in order.
 */
export async function proposeMany(
  peer: Peer,
  count: number,
  conc: number,
  tag: string,
): Promise<ProposeResult> {
  const ackedByWorker: string[][] = Array.from({ length: conc }, () => []);
  const failed: string[] = [];
  let next = 0;
  const worker = async (w: number) => {
    const key = encoder.encode(`w${w}`);
    while (next < count) {
      const n = next++;
      const value = `${tag}-${n}`;
      try {
        await peer.propose(encodeProposal({ id: n, key, value: encoder.encode(value) }));
        ackedByWorker[w]!.push(value);
      } catch (err) {
        failed.push(`${value}: ${err instanceof Error ? err.message : err}`);
      }
    }
  };
  await Promise.all(Array.from({ length: conc }, (_, w) => worker(w)));
  return { ackedByWorker, acked: ackedByWorker.flat(), failed };
}

/** The applied key-value map of an engine, as strings. */
export async function kvMap(storage: Storage): Promise<Map<string, string>> {
  const snap = decodeKvSnapshot((await storage.engine.snapshot()).data);
  return new Map(snap.pairs.map(([k, v]) => [decoder.decode(k), decoder.decode(v)]));
}

/** Every proposal's value in the log, by index (bootstrap and empty entries left out). */
export function loggedValues(storage: Storage): Map<number, string> {
  const wal = storage.wal;
  const out = new Map<number, string>();
  const last = wal.lastIndex();
  if (last < wal.firstIndex()) return out;
  for (const e of wal.entries(wal.firstIndex(), last + 1)) {
    if (e.type !== EntryType.Normal || e.data.length === 0) continue;
    out.set(e.index, decoder.decode(decodeProposal(e.data).value));
  }
  return out;
}
