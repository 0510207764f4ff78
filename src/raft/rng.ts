// The core never calls Math.random: every random choice (election timeouts) comes from an
// injected generator, so a seed reproduces a whole cluster run.

export interface Rng {
  /** A uniformly distributed integer in [0, n). */
  intn(n: number): number;
}

/**
 * A small seeded generator (SplitMix32-style mixing of a Weyl sequence). Written here
 * because it is a dozen lines and statistical quality beyond "well mixed" does not matter
 * for timeouts and fault schedules.
 */
export class SeededRng implements Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniformly distributed 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.nextU32() / 0x1_0000_0000;
  }

  intn(n: number): number {
    if (n <= 0) throw new RangeError(`intn: n must be positive, got ${n}`);
    return Math.floor(this.float() * n);
  }
}
