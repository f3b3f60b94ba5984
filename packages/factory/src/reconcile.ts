import { type Heartbeat, isIdle, isUnhealthy } from '@docker-cernvm/pilot';

/** What the site asked for. */
export interface DesiredState {
  slots: number;
  /** Drain: no new slots, every pilot told to finish its job and exit, none replaced. */
  draining: boolean;
  /** The hash of the slot template; a container made from another template is rolled over. */
  templateHash: string;
  /** Highest slot index + 1 that may be used (pinned cores run out); Infinity when slots are not pinned. */
  indexLimit: number;
  /** Scale-down stops its victims at once (`scale --force`) instead of letting them finish their job. */
  forceScaleDown?: boolean;
  /**
   * Unix ms by which the pilots drained for the last drain or scale-down must be empty: their running job is vacated
   * then. Undefined: they finish their job, however long.
   */
  deadline?: number;
  /** A slot whose health check has failed this long is drained (its job finishes) and replaced; unset = never. */
  unhealthyDrainSeconds?: number;
  /** The black-hole guard: a slot whose last `jobs` jobs each failed within `seconds` is drained and replaced. */
  blackhole?: BlackholeGuard;
}

export interface BlackholeGuard {
  jobs: number;
  seconds: number;
}

/** One container carrying this factory's labels, as the engine shows it. */
export interface ObservedContainer {
  id: string;
  slot: number;
  templateHash: string;
  phase: 'created' | 'running' | 'exited';
  /** Unix ms the engine made it; a running container was started right after (see `ListedContainer.createdAt`). */
  createdAt: number;
  exitCode?: number;
  /** The factory told it to drain (remembered, or its heartbeat says so). */
  draining: boolean;
  heartbeat?: Heartbeat;
  /** Unix ms by which the slot must be empty, as its directory says (read for running containers). */
  deadline?: number;
}

export interface ReconcileInput {
  desired: DesiredState;
  observed: readonly ObservedContainer[];
  now: number;
  /** Slot index → time before which it must not be started again (crash-loop backoff). */
  retryAt: ReadonlyMap<number, number>;
  /** Slot indices whose container is being created right now: occupied and counted as serving. */
  creating: ReadonlySet<number>;
}

export type DrainReason = 'duplicate' | 'scale-down' | 'template' | 'factory-drain' | 'unhealthy' | 'blackhole';

export type Action =
  | { kind: 'create'; slot: number }
  | { kind: 'remove'; slot: number; id: string; reason: 'exited' | 'never-started' }
  | { kind: 'drain'; slot: number; id: string; reason: DrainReason; deadline?: number }
  /** A draining pilot's deadline brought forward (a drain with an earlier deadline came after its own). */
  | { kind: 'deadline'; slot: number; id: string; deadline: number }
  | { kind: 'stop'; slot: number; id: string; reason: 'scale-down' };

/** Oldest running first (it has had its job longest); a created, never-started container last. */
function byKeepPreference(a: ObservedContainer, b: ObservedContainer): number {
  if ((a.phase === 'running') !== (b.phase === 'running')) return a.phase === 'running' ? -1 : 1;
  // Docker's times are whole seconds: the id breaks a tie, so every pass keeps the same one.
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** What taking a container away costs: not started, then idle, then busy. */
function removalCost(c: ObservedContainer): number {
  if (c.phase === 'created') return 0;
  if (isIdle(c.heartbeat)) return 1;
  return 2;
}

function unhealthyTooLong(c: ObservedContainer, desired: DesiredState, now: number): boolean {
  const since = c.heartbeat?.unhealthySince;
  if (!desired.unhealthyDrainSeconds || !isUnhealthy(c.heartbeat) || !since) return false;
  return now - since * 1000 >= desired.unhealthyDrainSeconds * 1000;
}

/** Its last `jobs` jobs (from its heartbeat) each ended with a failure, sooner than `seconds` after they began. */
function blackHole(c: ObservedContainer, desired: DesiredState): boolean {
  const guard = desired.blackhole;
  const ends = c.heartbeat?.jobEnds ?? [];
  if (!guard || guard.jobs < 1 || ends.length < guard.jobs) return false;
  return ends.slice(-guard.jobs).every(([seconds, status]) => status !== 0 && seconds < guard.seconds);
}

function takeAway(c: ObservedContainer, reason: DrainReason, deadline?: number): Action {
  if (c.phase === 'created') return { kind: 'remove', slot: c.slot, id: c.id, reason: 'never-started' };
  return { kind: 'drain', slot: c.slot, id: c.id, reason, ...(deadline === undefined ? {} : { deadline }) };
}

/**
 * The whole policy, as a pure function: from what is wanted and what is there, the actions that move one toward
 * the other. Applying the actions and calling it again converges; calling it again before they finish must not
 * duplicate them (in-flight creates come in `creating`, drains already sent are `draining`).
 */
export function reconcile({ desired, observed, now, retryAt, creating }: ReconcileInput): Action[] {
  const actions: Action[] = [];
  for (const c of observed) {
    if (c.phase === 'exited') actions.push({ kind: 'remove', slot: c.slot, id: c.id, reason: 'exited' });
    // Created but never started, and nobody is starting it (a factory killed between create and start).
    else if (c.phase === 'created' && !creating.has(c.slot)) {
      actions.push({ kind: 'remove', slot: c.slot, id: c.id, reason: 'never-started' });
    }
  }
  // A created container whose slot is being created is that create in flight: `creating` already counts it.
  const alive = (c: ObservedContainer) => c.phase === 'running';

  // One container per slot index: keep the oldest running, take the others away.
  const bySlot = new Map<number, ObservedContainer[]>();
  for (const c of observed.filter(alive)) bySlot.set(c.slot, [...(bySlot.get(c.slot) ?? []), c]);
  const kept: ObservedContainer[] = [];
  for (const group of bySlot.values()) {
    // The oldest holds the index, draining or not (so the one kept last pass is kept again once the others drain);
    // every other undrained one is a duplicate.
    const [first, ...others] = [...group].sort(byKeepPreference);
    if (first && !first.draining) kept.push(first);
    for (const c of others) if (!c.draining) actions.push(takeAway(c, 'duplicate'));
  }

  if (desired.draining) {
    for (const c of kept) actions.push(takeAway(c, 'factory-drain', desired.deadline));
    // Pilots drained earlier (for a template, or without a deadline) are held to the drain's deadline too.
    const { deadline } = desired;
    if (deadline !== undefined) {
      for (const c of observed) {
        if (alive(c) && c.draining && (c.deadline === undefined || c.deadline > deadline))
          actions.push({ kind: 'deadline', slot: c.slot, id: c.id, deadline });
      }
    }
    return actions;
  }

  // Pilots from an older template drain after their job; their slot stays occupied until they exit.
  // So are slots unhealthy for too long: their slot index is free again once they exit, and a new pilot takes it.
  const serving: ObservedContainer[] = [];
  for (const c of kept) {
    if (c.templateHash !== desired.templateHash) actions.push(takeAway(c, 'template'));
    else if (unhealthyTooLong(c, desired, now)) actions.push(takeAway(c, 'unhealthy'));
    else if (blackHole(c, desired)) actions.push(takeAway(c, 'blackhole'));
    else serving.push(c);
  }

  // A create still in flight whose container already runs is counted once, as the running container.
  const runningSlots = new Set(observed.filter(alive).map((c) => c.slot));
  const pendingCreates = [...creating].filter((slot) => !runningSlots.has(slot)).length;
  const surplus = serving.length + pendingCreates - desired.slots;
  if (surplus > 0) {
    const victims = [...serving].sort(
      (a, b) =>
        removalCost(a) - removalCost(b) ||
        Number(b.slot >= desired.slots) - Number(a.slot >= desired.slots) ||
        b.createdAt - a.createdAt ||
        b.slot - a.slot,
    );
    // Creates in flight are the cheapest victims (not started) but cannot be taken back midway: only running pilots
    // beyond the slots are drained now, and the pass after those creates chooses again among all of them.
    for (const c of victims.slice(0, Math.max(0, serving.length - desired.slots))) {
      const stopNow = desired.forceScaleDown === true && c.phase === 'running';
      actions.push(
        stopNow
          ? { kind: 'stop', slot: c.slot, id: c.id, reason: 'scale-down' }
          : takeAway(c, 'scale-down', desired.deadline),
      );
    }
    return actions;
  }

  const occupied = new Set([...runningSlots, ...creating]);
  // Containers are named <factory>-slot-<i>: while slot i's old container is being removed a new one cannot take
  // the name, so that slot waits for the removal (which wakes the next pass) instead of moving to another index.
  const leaving = new Set(observed.filter((c) => !alive(c)).map((c) => c.slot));
  let missing = -surplus;
  for (let slot = 0; missing > 0 && slot < desired.indexLimit; slot++) {
    if (occupied.has(slot)) continue;
    missing--;
    // A slot in backoff waits too; its place is not given to another index, or a crash loop would walk the indices.
    if (!leaving.has(slot) && (retryAt.get(slot) ?? 0) <= now) actions.push({ kind: 'create', slot });
  }
  return actions;
}
