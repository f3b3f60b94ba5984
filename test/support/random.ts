/**
 * A seeded generator for the fault tests' random choices (mulberry32): the seed is printed, and FAULT_SEED=<seed>
 * replays a run's exact choices.
 */
export class SeededRandom {
  readonly seed: number;
  private state: number;

  constructor(seed = Number(process.env.FAULT_SEED ?? Math.floor(Math.random() * 2 ** 31))) {
    this.seed = seed;
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A whole number from min to max, both included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  pick<T>(items: readonly T[]): T {
    if (!items.length) throw new Error('nothing to pick from');
    return items[this.int(0, items.length - 1)]!;
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
