import type { Action, DesiredState, ObservedContainer, ReconcileInput } from '../reconcile.js';

/** The template hash builders use unless told otherwise: "the current template". */
export const CURRENT = 'current-hash';
export const OLD = 'old-hash';
export const NOW = 1_000_000;

/** A running pilot on `slot`, made (and started) at `createdAt` (default: 1000 + slot, so a higher index is newer). */
export function running(slot: number, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `s${slot}`,
    slot,
    templateHash: CURRENT,
    phase: 'running',
    createdAt: 1000 + slot,
    draining: false,
    ...overrides,
  };
}

/** Created and never started. */
export function created(slot: number, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `created${slot}`,
    slot,
    templateHash: CURRENT,
    phase: 'created',
    createdAt: 1000 + slot,
    draining: false,
    ...overrides,
  };
}

export function exited(slot: number, overrides: Partial<ObservedContainer> = {}): ObservedContainer {
  return running(slot, { id: `exited${slot}`, phase: 'exited', exitCode: 1, ...overrides });
}

/** A reconcile input: N slots of the current template, unpinned, nothing in flight, nothing in backoff. */
export function input(
  observed: readonly ObservedContainer[],
  overrides: Partial<DesiredState> & {
    now?: number;
    retryAt?: ReadonlyMap<number, number>;
    creating?: Iterable<number>;
  } = {},
): ReconcileInput {
  const { now = NOW, retryAt = new Map(), creating = [], ...desired } = overrides;
  return {
    desired: { slots: 0, draining: false, templateHash: CURRENT, indexLimit: Number.POSITIVE_INFINITY, ...desired },
    observed,
    now,
    retryAt,
    creating: new Set(creating),
  };
}

/** One action as a short line (`create 3`, `drain s2 scale-down`, `remove exited1 exited`), for readable tables. */
export function describeAction(action: Action): string {
  if (action.kind === 'create') return `create ${action.slot}`;
  if (action.kind === 'deadline') return `deadline ${action.id} by ${action.deadline}`;
  const by = action.kind === 'drain' && action.deadline !== undefined ? ` by ${action.deadline}` : '';
  return `${action.kind} ${action.id} ${action.reason}${by}`;
}

/** Actions as sorted short lines: the order reconcile returns them in is not part of its contract. */
export function lines(actions: readonly Action[]): string[] {
  return actions.map(describeAction).sort();
}

/**
 * What the engine looks like once the actions are done, as far as reconcile can tell: a create is a running pilot
 * of the desired template on its slot, a drain marks the container draining, a remove makes it gone.
 */
export function applyActions(
  observed: readonly ObservedContainer[],
  actions: readonly Action[],
  templateHash: string,
  now: number,
): ObservedContainer[] {
  let next = [...observed];
  for (const action of actions) {
    if (action.kind === 'create') {
      next.push(running(action.slot, { id: `new${action.slot}@${now}#${next.length}`, templateHash, createdAt: now }));
    } else if (action.kind === 'drain') {
      const deadline = action.deadline === undefined ? {} : { deadline: action.deadline };
      next = next.map((c) => (c.id === action.id ? { ...c, draining: true, ...deadline } : c));
    } else if (action.kind === 'deadline') {
      next = next.map((c) => (c.id === action.id ? { ...c, deadline: action.deadline } : c));
    } else {
      next = next.filter((c) => c.id !== action.id);
    }
  }
  return next;
}

/** mulberry32: a small seeded generator, so a failing random case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
