import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { versionIn } from '@docker-cernvm/cli-kit/testing';
import { Factory, type FactoryOptions, type SlotSummary } from './factory.js';
import { FactoryMetrics } from './metrics.js';
import { templateHash } from './template.js';
import { busy, heartbeat, idle, testTemplate } from './testing/builders.js';
import { FakeClock } from './testing/fake-clock.js';
import { FakeRuntime } from './testing/fake-runtime.js';
import { FakeSlotDirs } from './testing/fake-slot-dirs.js';
import { type Sample, parsePrometheus, sampleValue } from './testing/prometheus.js';

const DEBOUNCE = 25;
const RESYNC = 30_000;
const TEMPLATE = testTemplate({ cernvmVersion: '4.7.2' });

let clock: FakeClock;
let runtime: FakeRuntime;
let slotDirs: FakeSlotDirs;
let factory: Factory | undefined;
let metrics: FactoryMetrics;

function makeFactory(overrides: Partial<FactoryOptions> = {}): Factory {
  factory = new Factory({
    name: 'f',
    runtime,
    slotDirs,
    clock,
    slots: 3,
    template: TEMPLATE,
    indexLimit: Number.POSITIVE_INFINITY,
    concurrency: 4,
    resyncMs: RESYNC,
    ...overrides,
  });
  metrics.observe(factory);
  return factory;
}

async function startFactory(overrides: Partial<FactoryOptions> = {}): Promise<Factory> {
  const made = makeFactory(overrides);
  await made.start();
  await clock.advance(DEBOUNCE * 2);
  return made;
}

const scrape = async (): Promise<Sample[]> => parsePrometheus(await metrics.registry.metrics());
const value = async (name: string, labels: Record<string, string> = {}) => sampleValue(await scrape(), name, labels);

/** A summary with every count different, so a gauge fed from the wrong field shows. */
function summary(overrides: Partial<SlotSummary> = {}): SlotSummary {
  return {
    desired: 9,
    serving: 5,
    starting: 1,
    draining: 2,
    stopping: 3,
    backoff: 4,
    claimed: 6,
    idle: 7,
    unhealthy: 8,
    factoryDraining: false,
    coresHeld: 8,
    ...overrides,
  };
}

beforeEach(() => {
  clock = new FakeClock();
  runtime = new FakeRuntime(clock);
  slotDirs = new FakeSlotDirs();
  metrics = new FactoryMetrics(() => clock.now());
  factory = undefined;
});

afterEach(async () => {
  await factory?.close();
});

describe('FactoryMetrics: before anything happens', () => {
  it('shows every slot state and exit reason at 0, the events stream as not connected, and process metrics', async () => {
    const samples = await scrape();
    for (const state of ['starting', 'running', 'draining', 'stopping', 'backoff', 'unhealthy']) {
      expect(sampleValue(samples, 'cernvm_factory_slots', { state })).toBe(0);
    }
    for (const reason of ['drained', 'clean', 'failed']) {
      expect(sampleValue(samples, 'cernvm_factory_container_exits_total', { reason })).toBe(0);
    }
    expect(sampleValue(samples, 'cernvm_factory_events_stream_connected')).toBe(0);
    expect(sampleValue(samples, 'cernvm_factory_events_stream_reconnects_total')).toBe(0);
    expect(sampleValue(samples, 'cernvm_factory_container_starts_total')).toBe(0);
    expect(sampleValue(samples, 'process_cpu_user_seconds_total')).toBeGreaterThanOrEqual(0);
    expect(samples.some((s) => s.name.startsWith('nodejs_'))).toBe(true);
  });

  it('keeps a registry of its own: two instances do not share counts', async () => {
    const other = new FactoryMetrics();
    other.countRequest('container_list');
    expect(await value('cernvm_factory_docker_api_requests_total', { operation: 'container_list' })).toBeUndefined();
    expect(
      sampleValue(parsePrometheus(await other.registry.metrics()), 'cernvm_factory_docker_api_requests_total', {
        operation: 'container_list',
      }),
    ).toBe(1);
  });
});

describe('FactoryMetrics: scratch usage', () => {
  it("shows each slot's scratch bytes as measured at the scrape, and forgets slots no longer measured", async () => {
    let usage = new Map([
      [0, 4096],
      [1, 52_428_800],
    ]);
    metrics.measureScratch(async () => usage);
    const first = await metrics.registry.metrics();
    expect(first).toContain('cernvm_factory_slot_scratch_bytes{slot="0"} 4096');
    expect(first).toContain('cernvm_factory_slot_scratch_bytes{slot="1"} 52428800');
    usage = new Map([[1, 8192]]);
    const second = await metrics.registry.metrics();
    expect(second).toContain('cernvm_factory_slot_scratch_bytes{slot="1"} 8192');
    expect(second).not.toContain('slot_scratch_bytes{slot="0"}');
  });
});

describe('FactoryMetrics: fed by a summary', () => {
  it('sets each gauge from its own field', async () => {
    const f = makeFactory();
    f.events.emit('summary', summary({ factoryDraining: true, oldestHeartbeatEpoch: clock.now() / 1000 - 42 }));
    const samples = await scrape();
    expect(sampleValue(samples, 'cernvm_factory_desired_slots')).toBe(9);
    expect(sampleValue(samples, 'cernvm_factory_slots', { state: 'running' })).toBe(5);
    expect(sampleValue(samples, 'cernvm_factory_slots', { state: 'starting' })).toBe(1);
    expect(sampleValue(samples, 'cernvm_factory_slots', { state: 'draining' })).toBe(2);
    expect(sampleValue(samples, 'cernvm_factory_slots', { state: 'stopping' })).toBe(3);
    expect(sampleValue(samples, 'cernvm_factory_slots', { state: 'backoff' })).toBe(4);
    expect(sampleValue(samples, 'cernvm_factory_slots', { state: 'unhealthy' })).toBe(8);
    expect(sampleValue(samples, 'cernvm_factory_claimed_slots')).toBe(6);
    expect(sampleValue(samples, 'cernvm_factory_idle_slots')).toBe(7);
    expect(sampleValue(samples, 'cernvm_factory_draining')).toBe(1);
    expect(sampleValue(samples, 'cernvm_factory_oldest_heartbeat_age_seconds')).toBe(42);
  });

  it('shows the cores still held and when the slots given a deadline must be empty (0 without one)', async () => {
    const f = makeFactory();
    f.events.emit('summary', summary());
    expect(await value('cernvm_factory_cores_held')).toBe(8);
    expect(await value('cernvm_factory_deadline_timestamp_seconds')).toBe(0);
    f.events.emit('summary', summary({ deadlineEpoch: 1_800_000_000 }));
    expect(await value('cernvm_factory_deadline_timestamp_seconds')).toBe(1_800_000_000);
    f.events.emit('summary', summary({ deadlineEpoch: 1_800_000_000, latestSlotDeadlineEpoch: 1_800_000_060 }));
    expect(await value('cernvm_factory_deadline_timestamp_seconds')).toBe(1_800_000_060);
  });

  it('shows a heartbeat age of 0 when no pilot writes one, and never a negative age', async () => {
    const f = makeFactory();
    f.events.emit('summary', summary());
    expect(await value('cernvm_factory_oldest_heartbeat_age_seconds')).toBe(0);
    f.events.emit('summary', summary({ oldestHeartbeatEpoch: clock.now() / 1000 + 5 })); // a clock a little ahead
    expect(await value('cernvm_factory_oldest_heartbeat_age_seconds')).toBe(0);
    expect(await value('cernvm_factory_draining')).toBe(0);
  });

  it('names the template in use in snapshot_info, one series only, the latest', async () => {
    const f = makeFactory();
    f.events.emit('summary', summary());
    expect((await scrape()).filter((s) => s.name === 'cernvm_factory_snapshot_info')).toEqual([
      {
        name: 'cernvm_factory_snapshot_info',
        labels: { image: 'cernvm:4', cernvm_version: '4.7.2', template_hash: templateHash(TEMPLATE) },
        value: 1,
      },
    ]);
    const next = testTemplate({ image: 'site/cernvm:5' });
    f.setTemplate(next);
    f.events.emit('summary', summary());
    expect((await scrape()).filter((s) => s.name === 'cernvm_factory_snapshot_info')).toEqual([
      {
        name: 'cernvm_factory_snapshot_info',
        labels: { image: 'site/cernvm:5', cernvm_version: 'unknown', template_hash: templateHash(next) },
        value: 1,
      },
    ]);
  });
});

describe('FactoryMetrics: build_info', () => {
  it('is 1, labelled with the package’s version and the Node.js version, before any factory runs', async () => {
    const version = await versionIn(new URL('../package.json', import.meta.url));
    expect((await scrape()).filter((s) => s.name === 'cernvm_factory_build_info')).toEqual([
      { name: 'cernvm_factory_build_info', labels: { version, node: process.versions.node }, value: 1 },
    ]);
  });
});

describe('FactoryMetrics: fed by a running factory', () => {
  it('counts the slots, their heartbeats and their starts', async () => {
    slotDirs.heartbeats.set(0, idle());
    slotDirs.heartbeats.set(1, busy());
    await startFactory({ slots: 3 });
    const samples = await scrape();
    expect(sampleValue(samples, 'cernvm_factory_desired_slots')).toBe(3);
    expect(sampleValue(samples, 'cernvm_factory_slots', { state: 'running' })).toBe(3);
    expect(sampleValue(samples, 'cernvm_factory_slots', { state: 'starting' })).toBe(0);
    expect(sampleValue(samples, 'cernvm_factory_claimed_slots')).toBe(1);
    expect(sampleValue(samples, 'cernvm_factory_idle_slots')).toBe(1);
    expect(sampleValue(samples, 'cernvm_factory_container_starts_total')).toBe(3);
    expect(sampleValue(samples, 'cernvm_factory_start_duration_seconds_count')).toBe(3);
    expect(sampleValue(samples, 'cernvm_factory_reconcile_duration_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(sampleValue(samples, 'cernvm_factory_events_stream_connected')).toBe(1);
    expect(sampleValue(samples, 'cernvm_factory_events_stream_reconnects_total')).toBe(0);
  });

  it('ages the oldest heartbeat as the clock moves', async () => {
    const epoch = clock.now() / 1000;
    slotDirs.heartbeats.set(0, heartbeat({ epoch }));
    slotDirs.heartbeats.set(1, heartbeat({ epoch: epoch + 10 }));
    const f = await startFactory({ slots: 2 });
    expect(await value('cernvm_factory_oldest_heartbeat_age_seconds')).toBeLessThan(1);
    await clock.advance(RESYNC);
    // A scrape reads the heartbeats again first (as the HTTP server does): the age is that of this moment.
    await clock.advance(1234);
    await f.refreshHeartbeats();
    expect(await value('cernvm_factory_oldest_heartbeat_age_seconds')).toBe(clock.now() / 1000 - epoch);
    expect(clock.now() / 1000 - epoch).toBeGreaterThan(31);
  });

  it('counts exits by reason', async () => {
    const f = await startFactory({ slots: 2 });
    runtime.exit(runtime.running()[0]!.id, 1);
    await clock.advance(DEBOUNCE * 2);
    runtime.exit(runtime.running()[0]!.id, 0);
    await clock.advance(DEBOUNCE * 2);
    f.setDraining(true);
    await clock.advance(DEBOUNCE * 2);
    expect(await value('cernvm_factory_draining')).toBe(1);
    expect(await value('cernvm_factory_slots', { state: 'draining' })).toBe(2);
    for (const c of runtime.running()) runtime.exit(c.id, 0);
    await clock.advance(DEBOUNCE * 2);
    const samples = await scrape();
    expect(sampleValue(samples, 'cernvm_factory_container_exits_total', { reason: 'failed' })).toBe(1);
    expect(sampleValue(samples, 'cernvm_factory_container_exits_total', { reason: 'clean' })).toBe(1);
    expect(sampleValue(samples, 'cernvm_factory_container_exits_total', { reason: 'drained' })).toBe(2);
    expect(sampleValue(samples, 'cernvm_factory_container_starts_total')).toBe(4);
    expect(sampleValue(samples, 'cernvm_factory_slots', { state: 'running' })).toBe(0);
    expect(sampleValue(samples, 'cernvm_factory_slots', { state: 'draining' })).toBe(0);
  });

  /** A heartbeat written now whose last three jobs each failed within seconds (the last one killed). */
  const failingFast = () => {
    const epoch = clock.now() / 1000;
    return heartbeat({
      epoch,
      startedEpoch: epoch,
      jobEnds: [
        [2, 1],
        [3, 1],
        [1, 137],
      ],
    });
  };

  it('counts a black hole once: drained (told by a signal) and replaced, from its heartbeat alone', async () => {
    await startFactory({ slots: 2, blackhole: { jobs: 3, seconds: 30 } });
    expect(await value('cernvm_factory_blackhole_total')).toBe(0);
    const hole = runtime.runningBySlot().get(0)!;
    slotDirs.heartbeats.set(0, failingFast());
    await clock.advance(RESYNC);
    await clock.advance(DEBOUNCE * 2);
    expect(runtime.callsOf(`signal:${hole.id}`)).toHaveLength(1);
    expect(await value('cernvm_factory_slots', { state: 'draining' })).toBe(1);
    expect([...runtime.runningBySlot().keys()].sort()).toEqual([0, 1, 2]);
    // Counted once, though the slot's heartbeat says the same at every pass until it has gone.
    await clock.advance(RESYNC);
    expect(await value('cernvm_factory_blackhole_total')).toBe(1);
  });

  it('counts no black hole while the guard is off', async () => {
    await startFactory({ slots: 1 });
    slotDirs.heartbeats.set(0, failingFast());
    await clock.advance(RESYNC);
    expect(await value('cernvm_factory_blackhole_total')).toBe(0);
    expect(await value('cernvm_factory_slots', { state: 'draining' })).toBe(0);
  });

  it('counts a reconnect of the events stream, not its first connection, and shows it down meanwhile', async () => {
    await startFactory({ slots: 1 });
    expect(await value('cernvm_factory_events_stream_reconnects_total')).toBe(0);
    runtime.eventStreams[0]!.end();
    await clock.advance(DEBOUNCE);
    expect(await value('cernvm_factory_events_stream_connected')).toBe(0);
    await clock.advance(500 + DEBOUNCE);
    expect(await value('cernvm_factory_events_stream_connected')).toBe(1);
    expect(await value('cernvm_factory_events_stream_reconnects_total')).toBe(1);
  });

  it('counts reconnects from the events alone: connected, lost, connected again', async () => {
    const f = makeFactory();
    f.events.emit('events-connected');
    expect(await value('cernvm_factory_events_stream_reconnects_total')).toBe(0);
    f.events.emit('events-disconnected', 'gone');
    expect(await value('cernvm_factory_events_stream_connected')).toBe(0);
    f.events.emit('events-connected');
    f.events.emit('events-disconnected', 'gone');
    f.events.emit('events-connected');
    expect(await value('cernvm_factory_events_stream_reconnects_total')).toBe(2);
    expect(await value('cernvm_factory_events_stream_connected')).toBe(1);
  });

  it('counts Docker API requests by operation through countRequest', async () => {
    metrics.countRequest('container_list');
    metrics.countRequest('container_list');
    metrics.countRequest('container_create');
    const samples = await scrape();
    expect(sampleValue(samples, 'cernvm_factory_docker_api_requests_total', { operation: 'container_list' })).toBe(2);
    expect(sampleValue(samples, 'cernvm_factory_docker_api_requests_total', { operation: 'container_create' })).toBe(1);
  });
});

describe('FactoryMetrics: names and labels', () => {
  /** The default process and Node.js metrics keep their usual names. */
  const isDefault = (name: string) => name.startsWith('process_') || name.startsWith('nodejs_');

  it('prefixes its own metrics with cernvm_factory_, and ends counters (only) in _total', async () => {
    await startFactory({ slots: 2 });
    const all = await metrics.registry.getMetricsAsJSON();
    const own = all.filter((m) => !isDefault(m.name));
    expect(own.length).toBeGreaterThanOrEqual(13);
    for (const m of own) {
      expect(m.name).toMatch(/^cernvm_factory_[a-z_]+$/);
      if (String(m.type) === 'counter') expect(m.name).toMatch(/_total$/);
      else expect(m.name).not.toMatch(/_total$/);
    }
    expect(own.map((m) => m.name)).toEqual(
      expect.arrayContaining([
        'cernvm_factory_desired_slots',
        'cernvm_factory_slots',
        'cernvm_factory_claimed_slots',
        'cernvm_factory_idle_slots',
        'cernvm_factory_draining',
        'cernvm_factory_oldest_heartbeat_age_seconds',
        'cernvm_factory_container_starts_total',
        'cernvm_factory_container_exits_total',
        'cernvm_factory_start_duration_seconds',
        'cernvm_factory_reconcile_duration_seconds',
        'cernvm_factory_docker_api_requests_total',
        'cernvm_factory_events_stream_reconnects_total',
        'cernvm_factory_events_stream_connected',
        'cernvm_factory_snapshot_info',
        'cernvm_factory_build_info',
      ]),
    );
    // Every sample in the text belongs to one of these or to the process metrics.
    for (const s of await scrape()) expect(s.name.startsWith('cernvm_factory_') || isDefault(s.name)).toBe(true);
  });

  it('never carries a container id, or the token, in a label value', async () => {
    slotDirs.heartbeats.set(0, busy());
    const f = await startFactory({ slots: 3 });
    runtime.exit(runtime.running()[0]!.id, 1);
    await clock.advance(DEBOUNCE * 2);
    f.setSlots(1, true);
    await clock.advance(DEBOUNCE * 2);
    metrics.countRequest('container_stop');
    const text = await metrics.registry.metrics();
    // Every id the fake engine handed out (it numbers them), the exited and stopped ones included.
    const ids = Array.from({ length: 10 }, (_, i) => `${(i + 1).toString(16).padStart(6, '0')}${'c'.repeat(58)}`);
    expect(ids).toEqual(expect.arrayContaining([...runtime.containers.keys()]));
    expect(runtime.callsOf('stop:')).toHaveLength(2);
    const samples = parsePrometheus(text);
    for (const s of samples) {
      for (const [label, v] of Object.entries(s.labels)) {
        for (const id of ids) expect(v).not.toContain(id.slice(0, 12));
        // The template hash is 12 hex digits by design (it is on every container as a label too); nothing else may be.
        if (s.name === 'cernvm_factory_snapshot_info' && label === 'template_hash')
          expect(v).toBe(templateHash(TEMPLATE));
        else expect(v).not.toMatch(/^(?:[0-9a-f]{12}|[0-9a-f]{64})$/);
      }
    }
    expect(text).not.toContain(TEMPLATE.tokenFile);
    expect(samples.flatMap((s) => Object.values(s.labels)).join(' ')).not.toContain('token');
  });
});
