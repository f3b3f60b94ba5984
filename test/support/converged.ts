import type Dockerode from 'dockerode';
import { docker } from './engine.js';
import { type SlotContainer, slotContainers } from './factory-process.js';
import { waitFor } from './wait.js';

/**
 * What must hold once a factory of `n` slots has converged: exactly n containers, all running, each on its own index.
 * Not necessarily 0..n-1: a scale-down keeps the slots whose loss costs most (busy, oldest), whatever their index.
 */
export function convergedShape(containers: readonly SlotContainer[], n: number): boolean {
  return (
    containers.length === n &&
    containers.every((c) => c.state === 'running') &&
    new Set(containers.map((c) => c.slot)).size === n
  );
}

/** Two containers on one index, at any moment: the fault tests check it at every observation. */
export function duplicateSlots(containers: readonly SlotContainer[]): number[] {
  const seen = new Set<number>();
  const duplicates = new Set<number>();
  for (const c of containers.filter((c) => c.state === 'running')) (seen.has(c.slot) ? duplicates : seen).add(c.slot);
  return [...duplicates];
}

/** Waits until the factory's containers have converged to n; fails with what the engine shows if they do not. */
export async function waitConverged(
  factory: string,
  n: number,
  timeoutMs = 60_000,
  engine: Dockerode = docker,
): Promise<SlotContainer[]> {
  let last: SlotContainer[] = [];
  try {
    return await waitFor(
      async () => {
        last = await slotContainers(factory, engine);
        return convergedShape(last, n) ? last : undefined;
      },
      timeoutMs,
      `${factory} to converge to ${n} running slots`,
    );
  } catch (error) {
    const shown = last.map((c) => `${c.slot}:${c.state}`).join(' ');
    throw new Error(`${(error as Error).message}; the engine shows [${shown}]`);
  }
}
