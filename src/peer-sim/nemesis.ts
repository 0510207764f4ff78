// The whole-node simulator's faults, drawn from the run's one generator on virtual time:
// crashes (anywhere, and aimed inside a persist: before the entries, between entries and
// hard state, before the sync), a sync that fails, a slow disk, partitions (one node cut
// off, or the group split), slow and lossy links. A crashed node restarts after a while.
import type { SeededRng } from "../raft/rng.js";
import type { SimDisk } from "./sim-disk.js";
import type { SimNetwork } from "./sim-network.js";
import type { VirtualTime } from "./virtual-time.js";

/** What the nemesis acts on. */
export interface NemesisTarget {
  readonly nodes: number;
  isUp(node: number): boolean;
  crash(node: number, why: string): void;
  note(line: string): void;
}

/** Mean virtual ms between two faults while faults run. */
const MEAN_FAULT_GAP_MS = 120;

type PersistStep = "entries" | "hard-state" | "sync";
const PERSIST_STEPS: readonly PersistStep[] = ["entries", "hard-state", "sync"];

export class PeerNemesis {
  crashes = 0;
  crashesInPersist = 0;
  syncFailures = 0;
  partitions = 0;
  private stopped = false;
  /** Nodes armed to crash at their next persist step of this kind. */
  private readonly armed = new Map<number, PersistStep>();

  constructor(
    private readonly time: VirtualTime,
    private readonly rng: SeededRng,
    private readonly network: SimNetwork,
    private readonly disks: readonly SimDisk[],
    private readonly target: NemesisTarget,
  ) {}

  start(): void {
    this.scheduleNext();
  }

  /** The quiet phase: no more faults; links and disks heal (the simulator restarts nodes). */
  stop(): void {
    this.stopped = true;
    this.armed.clear();
    this.network.healAll();
    for (const d of this.disks) {
      d.slowUntil = 0;
      d.failNextSync = false;
    }
  }

  /** A persist step starts on `node`: an armed crash fires here. */
  persistStep(node: number, step: PersistStep): void {
    if (this.armed.get(node) !== step) return;
    this.armed.delete(node);
    this.crashesInPersist++;
    this.target.crash(node, `inside a persist, before its ${step} step`);
  }

  private scheduleNext(): void {
    const gap = -Math.log(1 - this.rng.float()) * MEAN_FAULT_GAP_MS;
    this.time.schedule(gap, () => {
      if (this.stopped) return;
      this.fault();
      this.scheduleNext();
    });
  }

  private randomNode(): number {
    return 1 + this.rng.intn(this.target.nodes);
  }

  private downCount(): number {
    let n = 0;
    for (let id = 1; id <= this.target.nodes; id++) if (!this.target.isUp(id)) n++;
    return n;
  }

  private fault(): void {
    const t = this.target;
    const node = this.randomNode();
    const r = this.rng.intn(100);
    // Crashes keep a majority up, so that the run commits between them.
    const mayCrash = t.isUp(node) && this.downCount() < Math.floor((t.nodes - 1) / 2);
    if (r < 12) {
      if (!mayCrash) return;
      this.crashes++;
      t.crash(node, "crash");
    } else if (r < 30) {
      if (!mayCrash) return;
      const step = PERSIST_STEPS[this.rng.intn(PERSIST_STEPS.length)]!;
      this.armed.set(node, step);
      t.note(`nemesis: node ${node} will crash at its next persist's ${step} step`);
    } else if (r < 38) {
      if (!mayCrash) return;
      this.disks[node - 1]!.failNextSync = true;
      this.syncFailures++;
      t.note(`nemesis: node ${node}'s next sync fails`);
    } else if (r < 50) {
      const d = this.disks[node - 1]!;
      const forMs = 50 + this.rng.intn(1500);
      d.slowUntil = this.time.now + forMs;
      d.slowFactor = 20 + this.rng.intn(300);
      t.note(`nemesis: node ${node}'s disk is ${d.slowFactor}x slower for ${forMs} ms`);
    } else if (r < 70) {
      this.partition();
    } else if (r < 85) {
      const a = this.randomNode();
      let b = this.randomNode();
      if (b === a) b = (a % t.nodes) + 1;
      const kind = this.rng.intn(2) === 0 ? "slow" : "lossy";
      const forMs = 20 + this.rng.intn(800);
      this.network.degrade(a, b, kind, forMs);
      t.note(`nemesis: link ${a}>${b} ${kind} for ${forMs} ms`);
    } else {
      this.network.healAll();
      t.note("nemesis: network healed");
    }
  }

  /** One node cut off, or the group split in two; healed after a while. */
  private partition(): void {
    const t = this.target;
    const n = t.nodes;
    const side = new Set<number>();
    if (this.rng.intn(2) === 0 || n < 4) side.add(this.randomNode());
    else for (let id = 1; id <= n; id++) if (this.rng.intn(2) === 0) side.add(id);
    if (side.size === 0 || side.size === n) return;
    this.partitions++;
    const oneWay = this.rng.intn(4) === 0;
    for (const a of side) {
      for (let b = 1; b <= n; b++) {
        if (side.has(b)) continue;
        this.network.setCut(a, b, true);
        if (!oneWay) this.network.setCut(b, a, true);
      }
    }
    const forMs = 30 + this.rng.intn(1500);
    t.note(
      `nemesis: partition {${[...side].join(",")}}${oneWay ? " (outbound only)" : ""} for ${forMs} ms`,
    );
    this.time.schedule(forMs, () => {
      for (const a of side) {
        for (let b = 1; b <= n; b++) {
          this.network.setCut(a, b, false);
          this.network.setCut(b, a, false);
        }
      }
    });
  }
}
