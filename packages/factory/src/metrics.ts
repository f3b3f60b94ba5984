import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Factory } from './factory.js';
import { EXIT_REASONS } from './slot-observer.js';
import type { TokenKeeper } from './token-keeper.js';
import { FACTORY_VERSION } from './version.js';

const PREFIX = 'cernvm_factory_';

/**
 * The factory's Prometheus metrics, in a registry of its own (with process metrics). Base units, `_total` only on
 * counters, desired and current slot counts as separate gauges, and no container ids as label values.
 */
export class FactoryMetrics {
  readonly registry = new Registry();
  private readonly desired = new Gauge({
    name: `${PREFIX}desired_slots`,
    help: 'Slots the factory is asked to keep',
    registers: [this.registry],
  });
  private readonly slots = new Gauge({
    name: `${PREFIX}slots`,
    help: 'Slot containers by state',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  private readonly claimed = new Gauge({
    name: `${PREFIX}claimed_slots`,
    help: 'Running slots whose heartbeat says Claimed',
    registers: [this.registry],
  });
  private readonly idle = new Gauge({
    name: `${PREFIX}idle_slots`,
    help: 'Running slots whose heartbeat says Unclaimed',
    registers: [this.registry],
  });
  private readonly draining = new Gauge({
    name: `${PREFIX}draining`,
    help: '1 while the factory drains',
    registers: [this.registry],
  });
  private readonly coresHeld = new Gauge({
    name: `${PREFIX}cores_held`,
    help: 'Cores held by running slot containers, draining ones included: what a drain has still to give back',
    registers: [this.registry],
  });
  private readonly deadline = new Gauge({
    name: `${PREFIX}deadline_timestamp_seconds`,
    help: 'When the slots given a deadline must all be empty (Unix time; 0 when none has one)',
    registers: [this.registry],
  });
  private readonly heartbeatAge = new Gauge({
    name: `${PREFIX}oldest_heartbeat_age_seconds`,
    help: 'Age of the oldest heartbeat among running slots (0 when none reports one)',
    registers: [this.registry],
  });
  private readonly starts = new Counter({
    name: `${PREFIX}container_starts_total`,
    help: 'Slot containers started',
    registers: [this.registry],
  });
  private readonly exits = new Counter({
    name: `${PREFIX}container_exits_total`,
    help: 'Slot containers that exited, by reason (drained, clean, failed, oom)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });
  private readonly blackholes = new Counter({
    name: `${PREFIX}blackhole_total`,
    help: 'Slots drained and replaced because their last jobs each failed within seconds (black holes)',
    registers: [this.registry],
  });
  private readonly startDuration = new Histogram({
    name: `${PREFIX}start_duration_seconds`,
    help: 'Time to render, create and start one slot container',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [this.registry],
  });
  private readonly reconcileDuration = new Histogram({
    name: `${PREFIX}reconcile_duration_seconds`,
    help: 'Time of one observe-and-decide pass',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });
  private readonly apiRequests = new Counter({
    name: `${PREFIX}docker_api_requests_total`,
    help: 'Docker Engine API requests, by operation',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });
  private readonly reconnects = new Counter({
    name: `${PREFIX}events_stream_reconnects_total`,
    help: 'Times the Docker events stream was lost and opened again',
    registers: [this.registry],
  });
  private readonly eventsConnected = new Gauge({
    name: `${PREFIX}events_stream_connected`,
    help: '1 while the Docker events stream is connected',
    registers: [this.registry],
  });
  private readonly snapshot = new Gauge({
    name: `${PREFIX}snapshot_info`,
    help: 'The slot template in use: image, CernVM version and template hash',
    labelNames: ['image', 'cernvm_version', 'template_hash'] as const,
    registers: [this.registry],
  });

  private measureScratchUsage?: () => Promise<ReadonlyMap<number, number>>;
  private readonly scratchBytes: Gauge<'slot'> = new Gauge({
    name: `${PREFIX}slot_scratch_bytes`,
    help: "Disk each slot's scratch directory (HTCondor's EXECUTE) takes, measured at each scrape",
    labelNames: ['slot'] as const,
    registers: [this.registry],
    // prom-client awaits this before it reads the gauge: the walk happens only when someone scrapes.
    collect: async () => {
      if (!this.measureScratchUsage) return;
      const usage = await this.measureScratchUsage();
      this.scratchBytes.reset();
      for (const [slot, bytes] of usage) this.scratchBytes.set({ slot: String(slot) }, bytes);
    },
  });

  private readonly buildInfo = new Gauge({
    name: `${PREFIX}build_info`,
    help: 'Always 1; its labels are the version of the factory and of the Node.js it runs on',
    labelNames: ['version', 'node'] as const,
    registers: [this.registry],
  });

  constructor(now: () => number = Date.now) {
    this.now = now;
    this.buildInfo.set({ version: FACTORY_VERSION, node: process.versions.node }, 1);
    for (const state of ['starting', 'running', 'draining', 'stopping', 'backoff', 'unhealthy'])
      this.slots.set({ state }, 0);
    for (const reason of EXIT_REASONS) this.exits.inc({ reason }, 0);
    this.eventsConnected.set(0);
    collectDefaultMetrics({ register: this.registry });
  }

  private readonly now: () => number;

  /** For the runtime's request counter. */
  readonly countRequest = (operation: string): void => {
    this.apiRequests.inc({ operation });
  };

  /** Measures the slots' scratch at each scrape (a walk of their directories, so only when asked). */
  measureScratch(measure: () => Promise<ReadonlyMap<number, number>>): void {
    this.measureScratchUsage = measure;
  }

  /** Follows the factory's events; call once. */
  private readonly tokenUsable = new Gauge({
    name: `${PREFIX}pool_token_usable`,
    help: '1 while the pool token on the host is present and safe; 0: no new slot starts',
    registers: [this.registry],
  });
  private readonly tokenRotations = new Counter({
    name: `${PREFIX}pool_token_rotations_total`,
    help: 'New pool tokens handed to the running slots',
    registers: [this.registry],
  });

  /** The pool token's state, as the keeper finds it. */
  observeToken(keeper: TokenKeeper): void {
    this.tokenUsable.set(keeper.state().usable ? 1 : 0);
    keeper.events.on('refused', () => this.tokenUsable.set(0));
    keeper.events.on('recovered', () => this.tokenUsable.set(1));
    keeper.events.on('rotated', () => this.tokenRotations.inc());
  }

  observe(factory: Factory): void {
    let everConnected = false;
    factory.events.on('reconciled', ({ durationMs }) => this.reconcileDuration.observe(durationMs / 1000));
    factory.events.on('summary', (summary) => {
      this.desired.set(summary.desired);
      this.slots.set({ state: 'starting' }, summary.starting);
      this.slots.set({ state: 'running' }, summary.serving);
      this.slots.set({ state: 'draining' }, summary.draining);
      this.slots.set({ state: 'stopping' }, summary.stopping);
      this.slots.set({ state: 'backoff' }, summary.backoff);
      // Not a state of its own: running slots (serving or draining) whose health check fails.
      this.slots.set({ state: 'unhealthy' }, summary.unhealthy);
      this.claimed.set(summary.claimed);
      this.idle.set(summary.idle);
      this.draining.set(summary.factoryDraining ? 1 : 0);
      this.coresHeld.set(summary.coresHeld);
      this.deadline.set(summary.latestSlotDeadlineEpoch ?? summary.deadlineEpoch ?? 0);
      this.heartbeatAge.set(
        summary.oldestHeartbeatEpoch ? Math.max(0, this.now() / 1000 - summary.oldestHeartbeatEpoch) : 0,
      );
      const template = factory.currentTemplate;
      this.snapshot.reset();
      this.snapshot.set(
        {
          image: template.image,
          cernvm_version: template.cernvmVersion ?? 'unknown',
          template_hash: factory.desiredState.templateHash,
        },
        1,
      );
    });
    factory.events.on('slot-created', ({ durationMs }) => {
      this.starts.inc();
      this.startDuration.observe(durationMs / 1000);
    });
    factory.events.on('slot-exited', ({ reason }) => this.exits.inc({ reason }));
    factory.events.on('slot-draining', ({ reason }) => {
      if (reason === 'blackhole') this.blackholes.inc();
    });
    factory.events.on('events-connected', () => {
      if (everConnected) this.reconnects.inc();
      everConnected = true;
      this.eventsConnected.set(1);
    });
    factory.events.on('events-disconnected', () => this.eventsConnected.set(0));
  }
}
