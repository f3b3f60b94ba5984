import { beforeEach, describe, expect, it } from '@jest/globals';
import { ENTRYPOINT } from '@docker-cernvm/pilot';
import { EventEmitter } from 'eventemitter3';
import type { FactoryEvents } from './factory-events.js';
import { LABELS } from './labels.js';
import type { Action } from './reconcile.js';
import { type ActuatorView, SlotActuator } from './slot-actuator.js';
import { SlotFeatureUpdater } from './slot-feature-updater.js';
import { SlotLedger } from './slot-ledger.js';
import { templateHash } from './template.js';
import { testTemplate } from './testing/builders.js';
import { FakeClock, settle } from './testing/fake-clock.js';
import { FakeRuntime, engineError } from './testing/fake-runtime.js';
import { FakeSlotDirs } from './testing/fake-slot-dirs.js';
import { running } from './testing/observed.js';

const TEMPLATE = testTemplate();

let clock: FakeClock;
let runtime: FakeRuntime;
let slotDirs: FakeSlotDirs;
let ledger: SlotLedger;
let events: EventEmitter<FactoryEvents>;
let view: ActuatorView;
let settled: number;
let said: string[];
let refusal: string | undefined;

function actuator(concurrency = 4): SlotActuator {
  return new SlotActuator({
    name: 'f',
    runtime,
    slotDirs,
    clock,
    ledger,
    startRefusal: () => refusal,
    features: new SlotFeatureUpdater({ slotDirs, machine: () => ({ totalCpu: 8 }), deadlineOf: () => undefined }),
    events,
    concurrency,
    stopTimeoutSeconds: 7,
    view: () => view,
    onSettled: () => settled++,
  });
}

beforeEach(() => {
  clock = new FakeClock();
  runtime = new FakeRuntime(clock);
  slotDirs = new FakeSlotDirs();
  ledger = new SlotLedger();
  events = new EventEmitter<FactoryEvents>();
  view = { template: TEMPLATE, draining: false, observed: [] };
  settled = 0;
  said = [];
  refusal = undefined;
  for (const name of ['slot-created', 'slot-draining', 'slot-stopping', 'slot-removed', 'action-failed'] as const) {
    events.on(name, (payload: { slot?: number; action?: Action; error?: Error }) =>
      said.push(`${name}:${payload.slot ?? payload.action?.kind}${payload.error ? `:${payload.error.message}` : ''}`),
    );
  }
});

const create = (slot: number): Action => ({ kind: 'create', slot });

describe('SlotActuator: create', () => {
  it('writes the slot’s directories, then makes and starts its container', async () => {
    const order: string[] = [];
    const write = slotDirs.writePilotFiles.bind(slotDirs);
    slotDirs.writePilotFiles = (slot, files) => (order.push('write'), write(slot, files));
    const empty = slotDirs.emptyScratch.bind(slotDirs);
    slotDirs.emptyScratch = (slot) => (order.push('empty'), empty(slot));
    const make = runtime.createAndStart.bind(runtime);
    runtime.createAndStart = (options) => (order.push('create'), make(options));
    const act = actuator();
    act.enqueue(create(2));
    expect(ledger.isInFlight(create(2))).toBe(true);
    await settle();
    expect(order).toEqual(['write', 'empty', 'create']);
    expect(slotDirs.pilotFiles.get(2)!.map((f) => f.path)).toContain(ENTRYPOINT);
    expect(runtime.running().map((c) => [c.name, c.labels[LABELS.templateHash]])).toEqual([
      ['f-slot-2', templateHash(TEMPLATE)],
    ]);
    expect(said).toEqual(['slot-created:2']);
    expect(ledger.isInFlight(create(2))).toBe(false);
    expect(settled).toBe(1);
  });

  it('writes the slot’s MJF files and binds them read-only where the job environment says', async () => {
    view = { ...view, template: testTemplate({ coresPerSlot: 2, memoryMb: 1024, pilot: { diskMb: 100 } }) };
    actuator().enqueue(create(1));
    await settle();
    expect(slotDirs.features.get(1)).toEqual({
      machine: { total_cpu: '8\n' },
      job: {
        allocated_cpu: '2\n',
        max_rss_bytes: `${1024 * 1024 * 1024}\n`,
        max_swap_bytes: '0\n',
        scratch_limit_bytes: `${100 * 1024 * 1024}\n`,
        jobstart_secs: `${Date.UTC(2026, 0, 1) / 1000}\n`,
      },
    });
    const [made] = runtime.running();
    expect(made!.options.HostConfig?.Binds).toEqual(
      expect.arrayContaining([
        '/state/f/features/slot-1/machine:/etc/machinefeatures:ro',
        '/state/f/features/slot-1/job:/etc/jobfeatures:ro',
      ]),
    );
    const environment = slotDirs.pilotFiles.get(1)!.find((f) => f.path.endsWith('35-jobs.conf'))!.content;
    expect(environment).toContain("JOBFEATURES='/etc/jobfeatures' MACHINEFEATURES='/etc/machinefeatures'");
  });

  it('starts no slot while the pool token is refused, backing the slot off, and binds the token’s directory', async () => {
    refusal = 'the pool token /etc/t has mode 644';
    actuator().enqueue(create(0));
    await settle();
    expect(runtime.running()).toEqual([]);
    expect(said).toEqual(['action-failed:create:no new slot starts: the pool token /etc/t has mode 644']);
    expect(ledger.retryAt().has(0)).toBe(true);
    refusal = undefined;
    actuator().enqueue(create(0));
    await settle();
    expect(runtime.running()[0]!.options.HostConfig?.Binds).toContain('/state/f/tokens.d:/pilot/tokens.d:ro');
  });

  it('makes a create queued behind others from the template of its turn', async () => {
    const release = runtime.holdCreates();
    const act = actuator(1);
    act.enqueue(create(0));
    act.enqueue(create(1));
    await settle();
    const next = testTemplate({ cernvmVersion: '4.7.3' });
    view = { ...view, template: next };
    release();
    await settle();
    expect(runtime.running().map((c) => c.labels[LABELS.templateHash])).toEqual([
      templateHash(TEMPLATE),
      templateHash(next),
    ]);
  });

  it('drops a create whose turn comes once the factory drains', async () => {
    const release = runtime.holdCreates();
    const act = actuator(1);
    act.enqueue(create(0));
    act.enqueue(create(1));
    await settle();
    view = { ...view, draining: true };
    release();
    await settle();
    expect(runtime.callsOf('create:')).toEqual(['create:f-slot-0']);
    expect(said).toEqual(['slot-created:0']);
    expect(settled).toBe(2);
  });

  it('reports a create that fails, and backs its slot off', async () => {
    runtime.createFailures.push(engineError(500, 'no space left on device'));
    actuator().enqueue(create(0));
    await settle();
    expect(said).toEqual(['action-failed:create:(HTTP code 500) no space left on device']);
    expect(ledger.retryAt().get(0)).toBe(clock.now() + 1_000);
    expect(ledger.creatingCount).toBe(0);
    expect(settled).toBe(1);
  });

  it('runs no more actions at once than its concurrency', async () => {
    runtime.holdCreates();
    const act = actuator(2);
    for (const slot of [0, 1, 2]) act.enqueue(create(slot));
    await settle();
    expect(runtime.callsOf('create:')).toHaveLength(2);
    expect(ledger.creatingCount).toBe(3);
  });
});

describe('SlotActuator: drain, stop, remove', () => {
  it('tells a pilot to drain, and notes it in the ledger', async () => {
    const pilot = runtime.seed({ slot: 0, templateHash: 'h' });
    actuator().enqueue({ kind: 'drain', slot: 0, id: pilot.id, reason: 'scale-down' });
    await settle();
    expect(runtime.callsOf('signal:')).toEqual([`signal:${pilot.id}:SIGUSR1`]);
    expect(ledger.isDraining(running(0, { id: pilot.id }))).toBe(true);
    expect(said).toEqual(['slot-draining:0']);
  });

  it('forgets a drain whose signal failed', async () => {
    runtime.signalFailures.push(engineError(500, 'engine busy'));
    actuator().enqueue({ kind: 'drain', slot: 0, id: 'a', reason: 'template' });
    await settle();
    expect(ledger.isDraining(running(0, { id: 'a' }))).toBe(false);
    expect(said).toEqual(['action-failed:drain:(HTTP code 500) engine busy']);
  });

  it('says a pilot is stopping before it stops it with the stop timeout, and forgets a stop that failed', async () => {
    const pilot = runtime.seed({ slot: 1, templateHash: 'h' });
    const stop = runtime.stop.bind(runtime);
    runtime.stop = async (id, timeoutSeconds) => {
      expect(ledger.isStopping(id)).toBe(true);
      await stop(id, timeoutSeconds);
      throw engineError(500, 'engine busy');
    };
    actuator().enqueue({ kind: 'stop', slot: 1, id: pilot.id, reason: 'scale-down' });
    await settle();
    expect(runtime.callsOf('stop:')).toEqual([`stop:${pilot.id}:7`]);
    expect(said).toEqual(['slot-stopping:1', 'action-failed:stop:(HTTP code 500) engine busy']);
    expect(ledger.isStopping(pilot.id)).toBe(false);
  });

  it('removes a container, forgets it, and empties its slot’s scratch unless another pilot on the index shares it', async () => {
    const gone = runtime.seed({ slot: 0, templateHash: 'h', state: 'exited' });
    const duplicate = runtime.seed({ slot: 1, templateHash: 'h', state: 'exited' });
    view = { ...view, observed: [running(1, { id: 'kept' }), running(1, { id: duplicate.id, phase: 'exited' })] };
    ledger.sentDrain(gone.id, clock.now());
    const act = actuator();
    act.enqueue({ kind: 'remove', slot: 0, id: gone.id, reason: 'exited' });
    act.enqueue({ kind: 'remove', slot: 1, id: duplicate.id, reason: 'exited' });
    await settle();
    expect(runtime.containers.size).toBe(0);
    expect(ledger.remembered().drainSent).toEqual([]);
    expect(said.sort()).toEqual(['slot-removed:0', 'slot-removed:1']);
    expect(slotDirs.emptied).toEqual([0]);
  });
});

describe('SlotActuator: close', () => {
  it('waits for the actions under way, and takes no more', async () => {
    const release = runtime.holdCreates();
    const act = actuator();
    act.enqueue(create(0));
    await settle();
    let done = false;
    const closed = act.close().then(() => (done = true));
    act.enqueue(create(1));
    await settle();
    expect(done).toBe(false);
    release();
    await closed;
    expect(runtime.callsOf('create:')).toEqual(['create:f-slot-0']);
    expect(ledger.isInFlight(create(1))).toBe(false);
  });

  it('stops and removes every container of the factory, and empties each slot’s scratch once', async () => {
    for (const slot of [0, 1, 1]) runtime.seed({ slot, templateHash: 'h' });
    runtime.seed({ factory: 'other', slot: 5, templateHash: 'h' });
    await actuator().stopAll(3);
    expect(runtime.callsOf('stop:').map((call) => call.split(':')[2])).toEqual(['3', '3', '3']);
    expect(runtime.containers.size).toBe(1);
    expect([...slotDirs.emptied].sort()).toEqual([0, 1]);
  });
});
