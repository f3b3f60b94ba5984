import { EventEmitter } from 'eventemitter3';
import type { Clock } from './clock.js';
import type { ListedContainer, SlotRuntime } from './docker-runtime.js';
import { EventStream } from './event-stream.js';
import type { FactoryEvents } from './factory-events.js';
import { type BlackholeGuard, type DesiredState, type ObservedContainer, reconcile } from './reconcile.js';
import { SlotActuator } from './slot-actuator.js';
import type { SlotDirs } from './slot-dirs.js';
import { SlotFeatureUpdater } from './slot-feature-updater.js';
import type { MachineFeatures } from './slot-features.js';
import { SlotLedger } from './slot-ledger.js';
import { SlotObserver } from './slot-observer.js';
import { type SlotStatus, type SlotSummary, slotStatuses, summarize } from './slot-summary.js';
import { type SlotTemplate, templateHash } from './template.js';
import { WakeScheduler } from './wake-scheduler.js';

export type { SlotStatus, SlotSummary, SlotSummaryJson } from './slot-summary.js';
export type { FactoryEvents } from './factory-events.js';
export type { ExitReason } from './slot-observer.js';

export interface FactoryOptions {
  name: string;
  runtime: SlotRuntime;
  slotDirs: SlotDirs;
  clock: Clock;
  slots: number;
  template: SlotTemplate;
  indexLimit: number;
  concurrency: number;
  resyncMs: number;
  /** Events and action ends arriving together are handled in one pass. */
  debounceMs?: number;
  /** Seconds a slot stopped with `scale --force` gets before SIGKILL. */
  stopTimeoutSeconds?: number;
  /** The host's MJF machine features; without it, `total_cpu` is the slot's own cores. */
  machineFeatures?: () => MachineFeatures;
  /** Unix seconds slot i must be gone by (its drain deadline), written into its job features; none when unset. */
  slotDeadline?: (slot: number) => number | undefined;
  /** Why no new slot may start now (an unusable pool token); running slots are left alone. */
  startRefusal?: () => string | undefined;
  /** A slot its health check finds unhealthy this long is drained and replaced; 0 or unset = never. */
  unhealthyDrainSeconds?: number;
  /** The black-hole guard; unset or 0 jobs = off. */
  blackhole?: BlackholeGuard;
}

/** A deadline in whole seconds, as the slots keep it (so a pass never finds a slot's a few ms off and rewrites it). */
const deadlineOf = (deadline: number | undefined) =>
  deadline === undefined ? {} : { deadline: Math.round(deadline / 1000) * 1000 };
/** Ten health-check periods: a repository that comes back within minutes keeps its slots. */
export const DEFAULT_UNHEALTHY_DRAIN_SECONDS = 600;

/** Five failures in a row, each within a minute: no real job fails that fast that often, a broken slot does. */
export const DEFAULT_BLACKHOLE: BlackholeGuard = { jobs: 5, seconds: 60 };

/**
 * The level-triggered loop: observe (SlotObserver: one list call, plus heartbeat files), decide (the pure `reconcile`),
 * act (SlotActuator: a bounded queue), with what the engine does not show kept in a SlotLedger. Docker events, the
 * ends of actions and a slow resync wake it (WakeScheduler); the engine is the only database, so a restarted factory
 * adopts what is there.
 */
export class Factory {
  readonly events = new EventEmitter<FactoryEvents>();
  private desired: DesiredState;
  private template: SlotTemplate;
  private readonly stream: EventStream;
  private readonly ledger = new SlotLedger();
  private readonly observer: SlotObserver;
  private readonly actuator: SlotActuator;
  private readonly features: SlotFeatureUpdater;
  private lastObserved: readonly ObservedContainer[] = [];
  private lastRetryAt: ReadonlyMap<number, number> = new Map();
  private lastSummary: SlotSummary | undefined;
  /** `drained` was emitted and nothing has come back since: said once, not at every resync. */
  private drainedSaid = false;
  private lastReconcileAt = 0;
  private readonly wake: WakeScheduler;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: FactoryOptions) {
    this.template = options.template;
    this.desired = {
      slots: options.slots,
      draining: false,
      templateHash: templateHash(options.template),
      indexLimit: options.indexLimit,
      ...(options.unhealthyDrainSeconds ? { unhealthyDrainSeconds: options.unhealthyDrainSeconds } : {}),
      ...(options.blackhole?.jobs ? { blackhole: options.blackhole } : {}),
    };
    const { name, runtime, slotDirs, clock } = options;
    const { ledger, events } = this;
    this.features = new SlotFeatureUpdater({
      slotDirs,
      machine: options.machineFeatures ?? (() => ({ totalCpu: this.template.coresPerSlot })),
      deadlineOf: options.slotDeadline ?? (() => undefined),
    });
    this.observer = new SlotObserver({
      name,
      runtime,
      slotDirs,
      clock,
      ledger,
      factoryDraining: () => this.desired.draining,
    });
    this.actuator = new SlotActuator({
      name,
      runtime,
      slotDirs,
      clock,
      ledger,
      features: this.features,
      startRefusal: options.startRefusal ?? (() => undefined),
      events,
      concurrency: options.concurrency,
      stopTimeoutSeconds: options.stopTimeoutSeconds ?? 30,
      view: () => ({ template: this.template, draining: this.desired.draining, observed: this.lastObserved }),
      onSettled: () => this.requestReconcile(),
    });
    this.wake = new WakeScheduler({
      clock,
      pass: () => this.pass(),
      onError: (error) => events.emit('error', error),
      debounceMs: options.debounceMs ?? 25,
      resyncMs: options.resyncMs,
    });
    this.stream = new EventStream((since) => runtime.openEvents(name, since), clock);
    this.stream.on('event', (event) => {
      this.ledger.sawEvent(event);
      this.requestReconcile();
    });
    this.stream.on('connected', () => {
      this.events.emit('events-connected');
      this.requestReconcile(); // after a reconnect: what happened while it was down
    });
    this.stream.on('disconnected', (reason) => this.events.emit('events-disconnected', reason));
  }

  get name(): string {
    return this.options.name;
  }

  get desiredState(): Readonly<DesiredState> {
    return this.desired;
  }

  get currentTemplate(): SlotTemplate {
    return this.template;
  }

  get eventsConnected(): boolean {
    return this.stream.connected;
  }

  get lastReconcileTime(): number {
    return this.lastReconcileAt;
  }

  summary(): SlotSummary | undefined {
    return this.lastSummary;
  }

  /** Slot i's drain deadline (Unix ms) as the last pass observed it, if its pilot has one. */
  slotDeadline(slot: number): number | undefined {
    return this.lastObserved.find((c) => c.slot === slot && c.deadline !== undefined)?.deadline;
  }

  /**
   * Reads the running slots' heartbeats again (files only, no Docker request), so a scrape or a status between
   * passes sees what the pilots say now; heartbeats change without any Docker event.
   */
  async refreshHeartbeats(): Promise<SlotSummary | undefined> {
    if (!this.lastSummary) return undefined;
    const base = this.lastObserved;
    const refreshed = await this.observer.refreshHeartbeats(base);
    // A pass that finished meanwhile saw the engine and the heartbeats later than this: keep its view.
    if (this.lastObserved !== base) return this.lastSummary;
    this.lastObserved = refreshed;
    this.lastSummary = summarize(
      this.desired,
      this.lastObserved,
      this.ledger,
      this.lastRetryAt,
      this.options.clock.now(),
      this.template.coresPerSlot,
    );
    this.events.emit('summary', this.lastSummary);
    return this.lastSummary;
  }

  /** Each slot container as the last pass saw it. */
  slots(): SlotStatus[] {
    return slotStatuses(this.lastObserved, this.ledger);
  }

  /**
   * Adopts what is there, then follows events; resolves after the first pass. `firstList`: the engine's list of this
   * factory's containers, asked for earlier (while the configuration was checked), for the first pass to decide on.
   * What changed since it was taken is seen in the pass that the events stream's connection wakes.
   */
  async start(firstList?: Promise<ListedContainer[]>): Promise<void> {
    this.stream.start();
    await this.pass(firstList);
    this.wake.startResync();
  }

  /**
   * With `force`, the victims of a scale-down are stopped at once instead of finishing their job; with a `deadline`
   * (Unix ms) they finish it only if it ends by then, else it is vacated (back to the queue) at the deadline.
   */
  setSlots(slots: number, force = false, deadline?: number): void {
    const { deadline: _previous, ...rest } = this.desired;
    this.desired = { ...rest, slots, forceScaleDown: force, ...deadlineOf(deadline) };
    this.requestReconcile(0); // an operator's request: nothing to fold it with
  }

  /**
   * Drains every pilot; with a `deadline` (Unix ms) the jobs still running then are vacated and go back to the queue,
   * and pilots already draining are held to it too. `setDraining(false)` resumes and forgets the deadline.
   */
  setDraining(draining: boolean, deadline?: number): void {
    const { deadline: _previous, ...rest } = this.desired;
    this.desired = { ...rest, draining, ...deadlineOf(draining ? deadline : undefined) };
    this.requestReconcile(0);
  }

  setTemplate(template: SlotTemplate, indexLimit = this.desired.indexLimit): void {
    this.template = template;
    this.desired = { ...this.desired, templateHash: templateHash(template), indexLimit };
    this.requestReconcile();
  }

  /** Wakes the loop within `delayMs` (the debounce unless told), folded with the other requests. */
  requestReconcile(delayMs?: number): void {
    this.wake.request(delayMs);
  }

  private async pass(taken?: Promise<ListedContainer[]>): Promise<void> {
    const started = this.options.clock.now();
    // Taken before the list: a create that finishes while the pass runs still counts as in flight for this pass,
    // so the container it just made (listed as created) is not taken for a leftover.
    const creating = this.ledger.creatingSlots();
    const { observed, exits } = await this.observer.observe(taken);
    for (const exit of exits) this.events.emit('slot-exited', exit);
    this.lastObserved = observed;
    const now = this.options.clock.now();
    const retryAt = this.ledger.retryAt();
    const actions = reconcile({ desired: this.desired, observed, now, retryAt, creating }).filter(
      (action) => !this.ledger.isInFlight(action),
    );
    for (const action of actions) this.actuator.enqueue(action);
    await this.updateFeatures(observed);
    this.lastReconcileAt = this.options.clock.now();
    this.lastSummary = summarize(this.desired, observed, this.ledger, retryAt, now, this.template.coresPerSlot);
    this.lastRetryAt = retryAt;
    this.events.emit('summary', this.lastSummary);
    this.events.emit('reconciled', {
      summary: this.lastSummary,
      durationMs: this.lastReconcileAt - started,
      actions: actions.length,
    });
    const drained = this.desired.draining && observed.length === 0 && this.ledger.creatingCount === 0;
    if (drained && !this.drainedSaid) this.events.emit('drained');
    this.drainedSaid = drained;
    this.wake.wakeAtNextRetry(retryAt.values(), now);
  }

  /**
   * Rewrites the MJF files of the running slots whose values changed since (a deadline set or taken back, the host's
   * shutdown time): a job reads them when it wants, so they follow the slot, not only its start.
   */
  private async updateFeatures(observed: readonly ObservedContainer[]): Promise<void> {
    const hash = this.desired.templateHash;
    const running = observed.filter((c) => c.phase === 'running' && c.templateHash === hash);
    const results = await Promise.allSettled(
      running.map((c) => this.features.update(c.slot, this.template, c.createdAt)),
    );
    for (const result of results) if (result.status === 'rejected') this.events.emit('error', result.reason as Error);
  }

  /**
   * Stops following and acting. `leave` keeps the pilots running for the next start to adopt; `stop` stops them
   * gracefully (SIGTERM, then SIGKILL after the timeout). Safe to call twice: the second call gets the same promise.
   */
  close(mode: 'leave' | 'stop' = 'leave', stopTimeoutSeconds = 30): Promise<void> {
    this.closing ??= (async () => {
      this.stream.close();
      this.wake.close();
      await this.actuator.close();
      if (mode === 'stop') await this.actuator.stopAll(stopTimeoutSeconds);
    })();
    return this.closing;
  }
}
