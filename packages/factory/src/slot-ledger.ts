import type { Heartbeat } from '@docker-cernvm/pilot';
import { type SlotBackoff, afterExit } from './backoff.js';
import type { EngineEvent } from './event-stream.js';
import type { Action, ObservedContainer } from './reconcile.js';

/** What the ledger holds by container id: each list should stay as short as the slot count. */
export interface RememberedIds {
  exitsSeen: string[];
  died: string[];
  drainSent: string[];
  stopSent: string[];
}

/** The key an action is in flight under: one create per slot index, one action of a kind per container. */
const keyOf = (action: Action) => (action.kind === 'create' ? `create:${action.slot}` : `${action.kind}:${action.id}`);

/** A pilot still saying it runs in a heartbeat written this long after its drain was sent did not get the signal. */
const DRAIN_HEARD_WITHIN_MS = 2_000;

/**
 * What the factory knows about its slots that the engine's list does not show: the actions in flight, the drains and
 * stops it sent, the exits it reported, the `die` events it saw, and each slot's crash-loop backoff.
 */
export class SlotLedger {
  private readonly inFlight = new Set<string>();
  private readonly creating = new Set<number>();
  /** Container id → when its drain was sent (ms). */
  private readonly drainSent = new Map<string, number>();
  private readonly stopSent = new Set<string>();
  private readonly exitsSeen = new Set<string>();
  /** Containers a `die` event named: the engine's list can still show them running for a moment after it. */
  private readonly died = new Set<string>();
  private readonly backoff = new Map<number, SlotBackoff>();

  begin(action: Action): void {
    this.inFlight.add(keyOf(action));
    if (action.kind === 'create') this.creating.add(action.slot);
  }

  end(action: Action): void {
    this.inFlight.delete(keyOf(action));
    if (action.kind === 'create') this.creating.delete(action.slot);
  }

  isInFlight(action: Action): boolean {
    return this.inFlight.has(keyOf(action));
  }

  /** The slot indices whose container is being created, as a copy that later ends leave as it is. */
  creatingSlots(): Set<number> {
    return new Set(this.creating);
  }

  get creatingCount(): number {
    return this.creating.size;
  }

  sentDrain(id: string, at: number): void {
    this.drainSent.set(id, at);
  }

  /**
   * A heartbeat written well after the drain was sent that still says starting or running means the signal was lost
   * (one that reaches a container in its first instant can be): the drain is forgotten, so the next pass sends it again.
   */
  checkDrainHeard(id: string, heartbeat: Pick<Heartbeat, 'phase' | 'epoch'>): void {
    const sentAt = this.drainSent.get(id);
    const stillServing = heartbeat.phase === 'starting' || heartbeat.phase === 'running';
    if (sentAt !== undefined && stillServing && heartbeat.epoch * 1000 > sentAt + DRAIN_HEARD_WITHIN_MS)
      this.drainSent.delete(id);
  }

  /** Not told: the next pass sends the drain again instead of counting the container as draining. */
  drainFailed(id: string): void {
    this.drainSent.delete(id);
  }

  sentStop(id: string): void {
    this.stopSent.add(id);
  }

  /** Not stopped: the next pass stops it again instead of counting it as stopping. */
  stopFailed(id: string): void {
    this.stopSent.delete(id);
  }

  removed(id: string): void {
    this.drainSent.delete(id);
    this.stopSent.delete(id);
    this.died.delete(id);
  }

  isStopping(id: string): boolean {
    return this.stopSent.has(id);
  }

  /** Told to drain or stop since it was observed (the action starts as soon as a pass enqueues it), or seen so. */
  isDraining(c: Pick<ObservedContainer, 'id' | 'draining'>): boolean {
    return c.draining || this.drainSent.has(c.id) || this.stopSent.has(c.id);
  }

  sawEvent(event: Pick<EngineEvent, 'id' | 'action'>): void {
    if (event.action === 'die') this.died.add(event.id);
    else if (event.action === 'start') this.died.delete(event.id);
  }

  hasDied(id: string): boolean {
    return this.died.has(id);
  }

  /** Notes the container's exit; true the first time, so each exit is reported once. */
  firstExit(id: string): boolean {
    if (this.exitsSeen.has(id)) return false;
    this.exitsSeen.add(id);
    return true;
  }

  /** The slot's backoff after one of its containers exited (see `afterExit`). */
  recordExit(slot: number, exit: Parameters<typeof afterExit>[1]): SlotBackoff | undefined {
    const next = afterExit(this.backoff.get(slot), exit);
    if (next) this.backoff.set(slot, next);
    else this.backoff.delete(slot);
    return next;
  }

  /** A slot whose container cannot even be made backs off like one that crashes, and waits at least a second. */
  recordCreateFailure(slot: number, now: number): void {
    const next = afterExit(this.backoff.get(slot), { finishedAt: now, requested: false });
    if (next) this.backoff.set(slot, { ...next, retryAt: Math.max(next.retryAt, now + 1000) });
  }

  /** Slot index → time before which it must not be started again. */
  retryAt(): Map<number, number> {
    return new Map([...this.backoff].map(([slot, b]) => [slot, b.retryAt]));
  }

  /** Forgets the containers the engine no longer lists and no action is working on. */
  forget(listed: ReadonlySet<string>): void {
    const working = new Set(
      [...this.inFlight].filter((key) => !key.startsWith('create:')).map((key) => key.slice(key.indexOf(':') + 1)),
    );
    for (const ids of [this.exitsSeen, this.died, this.drainSent, this.stopSent]) {
      for (const id of ids.keys()) if (!listed.has(id) && !working.has(id)) ids.delete(id);
    }
  }

  remembered(): RememberedIds {
    return {
      exitsSeen: [...this.exitsSeen],
      died: [...this.died],
      drainSent: [...this.drainSent.keys()],
      stopSent: [...this.stopSent],
    };
  }
}
