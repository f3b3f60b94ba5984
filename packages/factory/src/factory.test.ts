import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ENTRYPOINT } from '@docker-cernvm/pilot';
import { Factory, type FactoryEvents, type FactoryOptions } from './factory.js';
import { LABELS, slotOf } from './labels.js';
import type { SlotLedger } from './slot-ledger.js';
import { templateHash } from './template.js';
import { busy, heartbeat, idle, testTemplate } from './testing/builders.js';
import { FakeClock } from './testing/fake-clock.js';
import { type FakeContainer, FakeRuntime, engineError } from './testing/fake-runtime.js';
import { FakeSlotDirs } from './testing/fake-slot-dirs.js';

const DEBOUNCE = 25;
const RESYNC = 30_000;
const TEMPLATE = testTemplate();
const HASH = templateHash(TEMPLATE);

let clock: FakeClock;
let runtime: FakeRuntime;
let slotDirs: FakeSlotDirs;
let factory: Factory;
let seen: { [K in keyof FactoryEvents]: Array<FactoryEvents[K]> };

function makeFactory(overrides: Partial<FactoryOptions> = {}): Factory {
  factory = new Factory({
    name: 'f',
    runtime,
    slotDirs,
    clock,
    slots: 2,
    template: TEMPLATE,
    indexLimit: Number.POSITIVE_INFINITY,
    concurrency: 4,
    resyncMs: RESYNC,
    ...overrides,
  });
  for (const name of Object.keys(seen) as Array<keyof FactoryEvents>) {
    factory.events.on(name, (...args: unknown[]) => (seen[name] as unknown[][]).push(args));
  }
  return factory;
}

/** Starts the factory and lets the first pass, its actions and the pass they wake all finish. */
async function startFactory(overrides: Partial<FactoryOptions> = {}): Promise<Factory> {
  makeFactory(overrides);
  await factory.start();
  await clock.advance(DEBOUNCE);
  return factory;
}

/** Lets the debounced pass (and whatever it wakes within `ms`) run. */
const tick = (ms = DEBOUNCE * 2) => clock.advance(ms);

const slotOfContainer = (c: FakeContainer) => slotOf(c.labels)!;
const runningSlots = () =>
  runtime
    .running()
    .map(slotOfContainer)
    .sort((a, b) => a - b);
const onSlot = (slot: number) => runtime.runningBySlot().get(slot)!;
const createsOf = (slot: number) => runtime.callsOf(`create:f-slot-${slot}`).length;

beforeEach(() => {
  clock = new FakeClock();
  runtime = new FakeRuntime(clock);
  slotDirs = new FakeSlotDirs();
  seen = {
    'slot-created': [],
    'slot-draining': [],
    'slot-stopping': [],
    'slot-exited': [],
    'slot-removed': [],
    'action-failed': [],
    reconciled: [],
    summary: [],
    'events-connected': [],
    'events-disconnected': [],
    drained: [],
    error: [],
  };
});

afterEach(async () => {
  await factory?.close();
});

describe('Factory: filling', () => {
  it('fills N slots on start, named <factory>-slot-<i>, labelled with the template hash', async () => {
    await startFactory({ slots: 3 });
    expect(runtime.callsOf('create:').sort()).toEqual(['create:f-slot-0', 'create:f-slot-1', 'create:f-slot-2']);
    expect(runningSlots()).toEqual([0, 1, 2]);
    for (const c of runtime.running()) expect(c.labels[LABELS.templateHash]).toBe(HASH);
    expect(seen['slot-created'].map(([e]) => e.slot).sort()).toEqual([0, 1, 2]);
    expect(seen['action-failed']).toEqual([]);
  });

  it('writes each slot’s directories before it asks the engine for the slot’s container', async () => {
    const order: string[] = [];
    const write = slotDirs.writePilotFiles.bind(slotDirs);
    slotDirs.writePilotFiles = (slot, files) => (order.push(`write:${slot}`), write(slot, files));
    const empty = slotDirs.emptyScratch.bind(slotDirs);
    slotDirs.emptyScratch = (slot) => (order.push(`empty:${slot}`), empty(slot));
    const create = runtime.createAndStart.bind(runtime);
    runtime.createAndStart = (options) => (order.push(`create:${options.name}`), create(options));
    await startFactory({ slots: 4 });
    for (const slot of [0, 1, 2, 3]) {
      const created = order.indexOf(`create:f-slot-${slot}`);
      expect(created).toBeGreaterThan(order.indexOf(`write:${slot}`));
      expect(created).toBeGreaterThan(order.indexOf(`empty:${slot}`));
    }
  });

  it('renders each slot’s pilot directory, and mounts it', async () => {
    await startFactory({ slots: 2 });
    expect([...slotDirs.pilotFiles.keys()].sort()).toEqual([0, 1]);
    expect(slotDirs.pilotFiles.get(1)!.map((f) => f.path)).toContain(ENTRYPOINT);
    expect(onSlot(1).options.HostConfig?.Binds?.[0]).toBe(`${slotDirs.dirOf(1)}:/pilot:ro`);
  });

  it('reports a summary after each pass', async () => {
    slotDirs.heartbeats.set(0, idle());
    slotDirs.heartbeats.set(1, busy());
    await startFactory({ slots: 2 });
    expect(factory.summary()).toEqual({
      coresHeld: 2,
      desired: 2,
      serving: 2,
      starting: 0,
      draining: 0,
      stopping: 0,
      unhealthy: 0,
      backoff: 0,
      claimed: 1,
      idle: 1,
      factoryDraining: false,
      oldestHeartbeatEpoch: Math.min(idle().epoch, busy().epoch),
    });
    expect(factory.lastReconcileTime).toBe(clock.now());
  });

  it('costs one list call per resync in steady state: no inspect, no create', async () => {
    await startFactory({ slots: 4 });
    await tick();
    runtime.calls.length = 0;
    await clock.advance(RESYNC);
    expect(runtime.calls).toEqual(['list']);
    await clock.advance(RESYNC);
    expect(runtime.calls).toEqual(['list', 'list']);
  });

  it('pins slot i to core i when pinned', async () => {
    const template = testTemplate({ pin: true });
    await startFactory({ slots: 2, template, indexLimit: 2 });
    expect(onSlot(0).options.HostConfig?.CpusetCpus).toBe('0');
    expect(onSlot(1).options.HostConfig?.CpusetCpus).toBe('1');
  });

  it('makes no more slots than the pinned cores allow', async () => {
    await startFactory({ slots: 4, indexLimit: 2 });
    await tick();
    expect(runningSlots()).toEqual([0, 1]);
  });
});

describe('Factory: passes while actions are in flight', () => {
  it('passes once per debounce after an action ends, folding in the engine events it caused', async () => {
    runtime.createLatencyMs = 100; // 4 slots, 2 at a time: creates end at 100 and 200 ms
    makeFactory({ slots: 4, concurrency: 2 });
    await factory.start();
    await clock.advance(DEBOUNCE); // the pass the events stream's connection asks for
    runtime.calls.length = 0;
    await clock.advance(99); // the first two creates ended at 100 ms
    expect(runtime.callsOf('list')).toHaveLength(0);
    await clock.advance(1); // one debounce after their ends (and their create and start events)
    expect(runtime.callsOf('list')).toHaveLength(1);
    await clock.advance(100);
    expect(runtime.callsOf('list')).toHaveLength(2);
    expect(runningSlots()).toEqual([0, 1, 2, 3]);
    expect(factory.summary()).toMatchObject({ serving: 4, starting: 0 });
  });

  it('still acts on an exit after the debounce while creates are in flight', async () => {
    runtime.createLatencyMs = 100;
    makeFactory({ slots: 4, concurrency: 1 });
    await factory.start();
    await clock.advance(100); // slot 0 runs; slot 1 is being made
    const first = onSlot(0);
    runtime.exit(first.id, 1);
    await clock.advance(DEBOUNCE + 1);
    expect(seen['slot-exited'].map(([e]) => e.id)).toEqual([first.id]);
    await clock.advance(1_000); // the creates still in flight end: close() waits for them
  });
});

describe('Factory: adoption', () => {
  it('keeps the pilots already there and makes only the missing slots', async () => {
    const kept = [runtime.seed({ slot: 0, templateHash: HASH }), runtime.seed({ slot: 1, templateHash: HASH })];
    await startFactory({ slots: 3 });
    await tick();
    expect(runtime.callsOf('create:')).toEqual(['create:f-slot-2']);
    expect(runtime.running().map((c) => c.id)).toEqual(expect.arrayContaining(kept.map((c) => c.id)));
    expect(runningSlots()).toEqual([0, 1, 2]);
  });

  it('starts nothing when every slot is already there', async () => {
    for (const slot of [0, 1]) runtime.seed({ slot, templateHash: HASH });
    await startFactory({ slots: 2 });
    await clock.advance(RESYNC);
    expect(runtime.callsOf('create:')).toEqual([]);
    expect(runtime.callsOf('signal:')).toEqual([]);
  });

  it('drains an adopted pilot of an older template instead of killing it', async () => {
    const old = runtime.seed({ slot: 0, templateHash: 'older-templ' });
    await startFactory({ slots: 1, indexLimit: 1 });
    expect(runtime.callsOf('signal:')).toEqual([`signal:${old.id}:SIGUSR1`]);
    expect(seen['slot-draining']).toEqual([[{ slot: 0, id: old.id, reason: 'template' }]]);
    expect(runtime.callsOf('remove:')).toEqual([]);
  });

  it('removes a never-started container a killed factory left, then makes its slot anew', async () => {
    const stray = runtime.seed({ slot: 0, templateHash: HASH, state: 'created' });
    await startFactory({ slots: 1 });
    await tick();
    expect(runtime.containers.has(stray.id)).toBe(false);
    expect(seen['slot-removed']).toEqual([[{ slot: 0, id: stray.id, reason: 'never-started' }]]);
    expect(runningSlots()).toEqual([0]);
  });

  it('ignores containers of another factory', async () => {
    runtime.seed({ factory: 'other', slot: 0, templateHash: HASH });
    await startFactory({ slots: 1 });
    expect(runtime.callsOf('create:')).toEqual(['create:f-slot-0']);
    expect(runtime.callsOf('signal:')).toEqual([]);
  });
});

describe('Factory: a pilot exits', () => {
  it.each<[number, 'failed' | 'clean']>([
    [1, 'failed'],
    [137, 'failed'],
    [0, 'clean'],
    [99, 'clean'], // HTCondor's DAEMON_SHUTDOWN
  ])('exit code %i: removed, replaced on its index, and reported as %s', async (code, reason) => {
    await startFactory({ slots: 2 });
    const victim = onSlot(1);
    runtime.exit(victim.id, code);
    await tick();
    expect(seen['slot-exited']).toEqual([[{ slot: 1, id: victim.id, exitCode: code, reason, ranForMs: 25 }]]);
    expect(runtime.containers.has(victim.id)).toBe(false);
    expect(seen['slot-removed']).toEqual([[{ slot: 1, id: victim.id, reason: 'exited' }]]);
    expect(runningSlots()).toEqual([0, 1]);
    expect(onSlot(1).id).not.toBe(victim.id);
    expect(createsOf(0)).toBe(1);
  });

  it('reports an exit once, however many passes see it before it is removed', async () => {
    await startFactory({ slots: 1 });
    const release = runtime.holdRemovals();
    runtime.exit(onSlot(0).id, 1);
    await tick();
    await clock.advance(RESYNC);
    release();
    await tick();
    expect(seen['slot-exited']).toHaveLength(1);
  });

  it('replaces it only once its old container is removed: the slot’s name is taken until then', async () => {
    await startFactory({ slots: 2 });
    const victim = onSlot(1);
    const release = runtime.holdRemovals();
    runtime.exit(victim.id, 1);
    await tick();
    expect(runtime.callsOf('remove:')).toEqual([`remove:${victim.id}`]);
    expect(createsOf(1)).toBe(1);
    release();
    await tick();
    expect(createsOf(1)).toBe(2);
    expect(seen['action-failed']).toEqual([]);
    expect(runningSlots()).toEqual([0, 1]);
  });

  it('inspects a container the list still shows running after its die event, and replaces it', async () => {
    await startFactory({ slots: 2 });
    const victim = onSlot(0);
    runtime.laggingList.add(victim.id);
    runtime.exit(victim.id, 2);
    await tick();
    expect(runtime.callsOf(`inspect:${victim.id}`).length).toBeGreaterThan(0);
    expect(seen['slot-exited']).toEqual([[{ slot: 0, id: victim.id, exitCode: 2, reason: 'failed', ranForMs: 25 }]]);
    expect(runtime.containers.has(victim.id)).toBe(false);
    expect(runningSlots()).toEqual([0, 1]);
  });

  it('inspects no container without a die event', async () => {
    await startFactory({ slots: 3 });
    await clock.advance(RESYNC * 2);
    expect(runtime.callsOf('inspect:')).toEqual([]);
  });

  it('reports an exit the engine shows without a die event (it happened while the stream was down)', async () => {
    await startFactory({ slots: 1 });
    const victim = onSlot(0);
    runtime.eventStreams.forEach((s) => s.pause()); // the event never reaches the factory
    victim.state = 'exited';
    victim.exitCode = 1;
    victim.finishedAt = clock.now();
    await clock.advance(RESYNC);
    await tick();
    expect(seen['slot-exited'].map(([e]) => e.id)).toEqual([victim.id]);
    expect(runningSlots()).toEqual([0]);
  });
});

describe('Factory: crash-loop backoff', () => {
  it('replaces the first crash at once, then waits 1 s, 2 s, 4 s, 8 s, waking when the wait ends, not at the resync', async () => {
    await startFactory({ slots: 1 });
    for (const delay of [0, 1000, 2000, 4000, 8000]) {
      const before = createsOf(0);
      const exitAt = clock.now();
      runtime.exit(onSlot(0).id, 1);
      if (delay > 0) {
        await clock.advance(delay - 1);
        expect(createsOf(0)).toBe(before);
        expect(factory.summary()?.backoff).toBe(1);
      }
      await clock.advance(exitAt + Math.max(delay + 5, DEBOUNCE * 2) - clock.now());
      expect(createsOf(0)).toBe(before + 1);
      expect(runningSlots()).toEqual([0]);
    }
    // Each exit says how long until the slot is tried again (measured from when the exit was seen).
    expect(seen['slot-exited'].map(([e]) => e.retryInMs)).toEqual([
      undefined,
      1000 - DEBOUNCE,
      2000 - DEBOUNCE,
      4000 - DEBOUNCE,
      8000 - DEBOUNCE,
    ]);
  });

  it('starts a crash-looping slot at most 10 times in its first minute, and leaves the other slots alone', async () => {
    await startFactory({ slots: 3 });
    const start = clock.now();
    while (clock.now() - start < 60_000) {
      const looping = runtime.runningBySlot().get(1);
      if (looping) runtime.exit(looping.id, 1);
      await clock.advance(100);
    }
    expect(createsOf(1)).toBeLessThanOrEqual(10);
    expect(createsOf(1)).toBeGreaterThanOrEqual(5);
    expect(createsOf(0)).toBe(1);
    expect(createsOf(2)).toBe(1);
  });

  it('clears a slot’s backoff when its pilot exits because it was drained', async () => {
    await startFactory({ slots: 1 });
    runtime.exit(onSlot(0).id, 1);
    await tick();
    runtime.exit(onSlot(0).id, 1);
    await clock.advance(1100);
    expect(factory.summary()?.backoff).toBe(0);
    factory.setSlots(0);
    await tick();
    runtime.exit(onSlot(0).id, 0);
    await tick();
    factory.setSlots(1);
    await tick();
    expect(runningSlots()).toEqual([0]);
    expect(seen['slot-exited'].at(-1)?.[0]).toMatchObject({ reason: 'drained' });
    expect(seen['slot-exited'].at(-1)?.[0].retryInMs).toBeUndefined();
  });

  it('backs a slot off when its container cannot be made, instead of trying again at once', async () => {
    runtime.createFailures.push(
      engineError(500, 'no space left on device'),
      engineError(500, 'no space left on device'),
    );
    const start = clock.now();
    const at = (ms: number) => clock.advance(start + ms - clock.now());
    makeFactory({ slots: 1 });
    await factory.start();
    await tick();
    expect(seen['action-failed']).toHaveLength(1);
    expect(seen['action-failed'][0]![0]).toMatchObject({ action: { kind: 'create', slot: 0 } });
    expect(seen['action-failed'][0]![0].error.message).toContain('no space left on device');
    expect(createsOf(0)).toBe(1);
    await at(1000);
    expect(createsOf(0)).toBe(1);
    await at(1010); // the second try, 1 s after the first: fails again
    expect(createsOf(0)).toBe(2);
    await at(2000);
    expect(createsOf(0)).toBe(2);
    await at(2020); // the third, 1 s after that: succeeds
    expect(createsOf(0)).toBe(3);
    expect(runningSlots()).toEqual([0]);
    expect(factory.summary()?.backoff).toBe(0);
  });
});

describe('Factory: draining', () => {
  it('writes the deadline into each slot before its drain signal, and a new pilot of the slot starts without it', async () => {
    await startFactory({ slots: 2 });
    const deadline = Math.round((clock.now() + 20_000) / 1000) * 1000;
    factory.setDraining(true, deadline);
    await tick();
    expect([...slotDirs.deadlines]).toEqual([
      [0, deadline],
      [1, deadline],
    ]);
    expect(runtime.callsOf('signal:')).toHaveLength(2);
    expect(seen['slot-draining'].map(([e]) => e.deadline)).toEqual([deadline, deadline]);
    expect(factory.summary()).toMatchObject({
      deadlineEpoch: deadline / 1000,
      latestSlotDeadlineEpoch: deadline / 1000,
    });

    factory.setDraining(false);
    for (const pilot of runtime.running()) runtime.exit(pilot.id, 0);
    await tick();
    await tick();
    expect(runningSlots()).toEqual([0, 1]);
    expect(slotDirs.deadlines.size).toBe(0);
    expect(factory.summary()?.deadlineEpoch).toBeUndefined();
  });

  it('brings forward the deadline of pilots drained earlier without one', async () => {
    await startFactory({ slots: 1 });
    factory.setDraining(true);
    await tick();
    expect(slotDirs.deadlines.size).toBe(0);
    const deadline = Math.round((clock.now() + 60_000) / 1000) * 1000;
    factory.setDraining(true, deadline);
    await tick();
    expect(slotDirs.deadlines.get(0)).toBe(deadline);
    expect(runtime.callsOf('signal:')).toHaveLength(1);
  });

  it("gives a scale-down's victims the deadline and the pilots it keeps none", async () => {
    await startFactory({ slots: 3 });
    const deadline = Math.round((clock.now() + 45 * 60_000) / 1000) * 1000;
    factory.setSlots(1, false, deadline);
    await tick();
    expect(slotDirs.deadlines.size).toBe(2);
    expect([...slotDirs.deadlines.values()]).toEqual([deadline, deadline]);
    expect(factory.summary()).toMatchObject({ serving: 1, draining: 2, coresHeld: 3 });
  });

  it('drops the creates still queued when a drain begins: only those already under way are made, then drained', async () => {
    const release = runtime.holdCreates();
    await startFactory({ slots: 6, concurrency: 2 });
    expect(runtime.callsOf('create:')).toHaveLength(2);
    factory.setDraining(true);
    release();
    await tick();
    await tick();
    expect(runtime.callsOf('create:')).toHaveLength(2);
    expect(seen['slot-created']).toHaveLength(2);
    expect(runtime.callsOf('signal:')).toHaveLength(2);
    expect(factory.summary()).toMatchObject({ serving: 0, starting: 0, draining: 2 });
  });

  it('drains every pilot, makes none, and says drained once the last is gone', async () => {
    await startFactory({ slots: 2 });
    const pilots = runtime.running();
    factory.setDraining(true);
    await tick();
    expect(runtime.callsOf('signal:').sort()).toEqual(pilots.map((c) => `signal:${c.id}:SIGUSR1`).sort());
    expect(seen['slot-draining'].map(([e]) => e.reason)).toEqual(['factory-drain', 'factory-drain']);
    expect(factory.summary()).toMatchObject({ serving: 0, draining: 2, factoryDraining: true });

    runtime.exit(pilots[0]!.id, 0);
    await tick();
    expect(seen.drained).toEqual([]);
    runtime.exit(pilots[1]!.id, 0);
    await tick();
    expect(seen['slot-exited'].map(([e]) => e.reason)).toEqual(['drained', 'drained']);
    expect(runtime.containers.size).toBe(0);
    expect(createsOf(0) + createsOf(1)).toBe(2);
    expect(seen.drained).toHaveLength(1);
  });

  it('says drained once, not at every resync after', async () => {
    await startFactory({ slots: 1 });
    factory.setDraining(true);
    await tick();
    runtime.exit(onSlot(0).id, 0);
    await tick();
    await clock.advance(RESYNC * 3);
    expect(seen.drained).toHaveLength(1);
  });

  it('reports an exit while draining as drained, whatever its code', async () => {
    await startFactory({ slots: 1 });
    factory.setDraining(true);
    await tick();
    runtime.exit(onSlot(0).id, 1);
    await tick();
    expect(seen['slot-exited'][0]![0]).toMatchObject({ exitCode: 1, reason: 'drained' });
    expect(factory.summary()?.backoff).toBe(0);
  });

  it('fills again on resume', async () => {
    await startFactory({ slots: 2 });
    factory.setDraining(true);
    await tick();
    for (const c of runtime.running()) runtime.exit(c.id, 0);
    await tick();
    factory.setDraining(false);
    await tick();
    expect(runningSlots()).toEqual([0, 1]);
    expect(factory.desiredState.draining).toBe(false);
  });

  it('sends a drain again when the signal failed', async () => {
    await startFactory({ slots: 1 });
    const pilot = onSlot(0);
    runtime.signalFailures.push(engineError(500, 'engine busy'));
    factory.setDraining(true);
    await tick();
    expect(seen['action-failed']).toHaveLength(1);
    await clock.advance(RESYNC);
    expect(runtime.callsOf(`signal:${pilot.id}`)).toHaveLength(2);
    expect(factory.summary()?.draining).toBe(1);
  });

  it('sends a drain again when the pilot still says it runs in a heartbeat written after it', async () => {
    await startFactory({ slots: 1 });
    const pilot = onSlot(0);
    factory.setDraining(true);
    await tick();
    expect(runtime.callsOf(`signal:${pilot.id}`)).toHaveLength(1);
    // The signal was lost (sent as the container started): seconds later the pilot writes that it still runs.
    await clock.advance(5_000);
    slotDirs.heartbeats.set(0, heartbeat({ epoch: clock.now() / 1000 }));
    await clock.advance(RESYNC);
    expect(runtime.callsOf(`signal:${pilot.id}`)).toHaveLength(2);
    expect(factory.summary()?.draining).toBe(1);
  });

  it('does not send a drain again while the pilot’s heartbeat predates it or says it drains', async () => {
    await startFactory({ slots: 1 });
    const pilot = onSlot(0);
    slotDirs.heartbeats.set(0, heartbeat({ epoch: clock.now() / 1000 }));
    factory.setDraining(true);
    await tick();
    await clock.advance(RESYNC);
    slotDirs.heartbeats.set(0, heartbeat({ phase: 'draining', epoch: clock.now() / 1000 }));
    await clock.advance(RESYNC);
    expect(runtime.callsOf(`signal:${pilot.id}`)).toHaveLength(1);
  });
});

describe('Factory: scaling', () => {
  it('drains idle pilots first when scaling down, and replaces none of them', async () => {
    await startFactory({ slots: 4 });
    slotDirs.heartbeats.set(0, busy());
    slotDirs.heartbeats.set(1, idle());
    slotDirs.heartbeats.set(2, busy());
    slotDirs.heartbeats.set(3, idle());
    factory.setSlots(2);
    await tick();
    expect(seen['slot-draining'].map(([e]) => [e.slot, e.reason]).sort()).toEqual([
      [1, 'scale-down'],
      [3, 'scale-down'],
    ]);
    for (const slot of [1, 3]) runtime.exit(onSlot(slot).id, 0);
    await tick();
    await clock.advance(RESYNC);
    expect(runningSlots()).toEqual([0, 2]);
    expect(seen['slot-exited'].map(([e]) => e.reason)).toEqual(['drained', 'drained']);
    expect(factory.desiredState.slots).toBe(2);
  });

  it('fills the lowest free indices when scaling up again', async () => {
    await startFactory({ slots: 4 });
    slotDirs.heartbeats.set(1, idle());
    slotDirs.heartbeats.set(3, idle());
    factory.setSlots(2);
    await tick();
    for (const slot of [1, 3]) runtime.exit(onSlot(slot).id, 0);
    await tick();
    slotDirs.heartbeats.clear();
    factory.setSlots(5);
    await tick();
    expect(runningSlots()).toEqual([0, 1, 2, 3, 4]);
    expect(runtime.callsOf('create:').slice(4).sort()).toEqual([
      'create:f-slot-1',
      'create:f-slot-3',
      'create:f-slot-4',
    ]);
  });

  it('does not drain a pilot whose heartbeat says it is draining already', async () => {
    await startFactory({ slots: 2 });
    slotDirs.heartbeats.set(1, heartbeat({ phase: 'draining' }));
    factory.setSlots(1);
    await tick();
    expect(runtime.callsOf('signal:')).toEqual([]);
  });
});

describe('Factory: a new template rolls the slots over', () => {
  it('drains the old pilots and makes new ones on the indices they free', async () => {
    await startFactory({ slots: 2, indexLimit: 2 });
    const old = [onSlot(0), onSlot(1)];
    const next = testTemplate({ cernvmVersion: '4.7.3' });
    factory.setTemplate(next);
    await tick();
    expect(factory.currentTemplate).toBe(next);
    expect(seen['slot-draining'].map(([e]) => e.reason)).toEqual(['template', 'template']);
    expect(runtime.callsOf('create:')).toHaveLength(2); // nothing new while the old ones run their jobs

    runtime.exit(old[0]!.id, 0);
    await tick();
    expect(onSlot(0).labels[LABELS.templateHash]).toBe(templateHash(next));
    expect(onSlot(1).id).toBe(old[1]!.id);
    runtime.exit(old[1]!.id, 0);
    await tick();
    expect(runtime.running().map((c) => c.labels[LABELS.templateHash])).toEqual([
      templateHash(next),
      templateHash(next),
    ]);
    expect(seen['slot-exited'].map(([e]) => e.reason)).toEqual(['drained', 'drained']);
    expect(slotDirs.pilotFiles.get(0)!.find((f) => f.path === 'condor_config')).toBeDefined();
  });

  it('changes the index limit with the template', async () => {
    await startFactory({ slots: 3, indexLimit: 2 });
    expect(runningSlots()).toEqual([0, 1]);
    factory.setTemplate(TEMPLATE, 3);
    await tick();
    expect(runningSlots()).toEqual([0, 1, 2]);
    expect(runtime.callsOf('signal:')).toEqual([]);
  });
});

describe('Factory: the events stream', () => {
  it('says when it is connected, and reconnects and resyncs when the engine drops it', async () => {
    await startFactory({ slots: 1 });
    expect(seen['events-connected']).toHaveLength(1);
    expect(factory.eventsConnected).toBe(true);
    runtime.eventStreams[0]!.end();
    await tick();
    expect(seen['events-disconnected']).toEqual([['the engine closed the events stream']]);
    expect(factory.eventsConnected).toBe(false);
    const lists = runtime.callsOf('list').length;
    await clock.advance(500 + DEBOUNCE);
    expect(seen['events-connected']).toHaveLength(2);
    expect(runtime.callsOf('list').length).toBeGreaterThan(lists);
    // The new stream wakes it as the first did.
    runtime.exit(onSlot(0).id, 1);
    await tick();
    expect(seen['slot-exited']).toHaveLength(1);
  });

  it('folds a burst of events into one pass', async () => {
    await startFactory({ slots: 3 });
    await tick();
    const lists = runtime.callsOf('list').length;
    for (const c of runtime.running()) runtime.emitEvent('health_status: healthy', c);
    await tick();
    expect(runtime.callsOf('list').length).toBe(lists + 1);
  });
});

describe('Factory: failures', () => {
  it('reports a pass that fails, and the next pass works', async () => {
    await startFactory({ slots: 1 });
    runtime.listFailures.push(engineError(500, 'engine restarting'));
    factory.requestReconcile();
    await tick();
    expect(seen.error.map(([e]) => e.message)).toEqual(['(HTTP code 500) engine restarting']);
    runtime.exit(onSlot(0).id, 1);
    await tick();
    expect(runningSlots()).toEqual([0]);
  });
});

describe('Factory: close', () => {
  it('leaves the pilots running with close("leave"), and stops following the engine', async () => {
    await startFactory({ slots: 2 });
    const ids = runtime.running().map((c) => c.id);
    await factory.close('leave');
    expect(runtime.running().map((c) => c.id)).toEqual(ids);
    expect(runtime.callsOf('stop:')).toEqual([]);
    expect(runtime.eventStreams[0]!.destroyed).toBe(true);
    expect(clock.pending).toBe(0);
    const calls = runtime.calls.length;
    runtime.exit(ids[0]!, 1);
    await clock.advance(RESYNC * 2);
    expect(runtime.calls.length).toBe(calls);
  });

  it('stops and removes every pilot with close("stop"), with the timeout given', async () => {
    await startFactory({ slots: 2 });
    const ids = runtime.running().map((c) => c.id);
    await factory.close('stop', 7);
    expect(runtime.callsOf('stop:').sort()).toEqual(ids.map((id) => `stop:${id}:7`).sort());
    expect(runtime.containers.size).toBe(0);
    expect(runtime.callsOf('create:')).toHaveLength(2);
  });

  it('returns the same promise when called twice', async () => {
    await startFactory({ slots: 1 });
    const first = factory.close('stop', 1);
    const second = factory.close('leave');
    expect(second).toBe(first);
    await first;
    expect(runtime.callsOf('stop:')).toHaveLength(1);
  });

  it('makes nothing once closed, even when a pass was half-way through', async () => {
    await startFactory({ slots: 1 });
    const release = runtime.holdList();
    factory.setSlots(2);
    await clock.advance(DEBOUNCE); // a pass is now waiting for its list
    const closed = factory.close('leave');
    release();
    await closed;
    await tick();
    await clock.advance(RESYNC);
    expect(createsOf(1)).toBe(0);
    expect(clock.pending).toBe(0);
  });

  it('waits for the actions in flight before it resolves', async () => {
    await startFactory({ slots: 1 });
    const release = runtime.holdRemovals();
    runtime.exit(onSlot(0).id, 1);
    await tick();
    let done = false;
    const closed = factory.close('leave').then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    release();
    await closed;
    expect(runtime.containers.size).toBe(0);
  });
});

describe('Factory: scale --force', () => {
  /** Stops wait until released (a pilot taking its time over SIGTERM); the stop is recorded when it is asked. */
  function holdStops(): { release: () => Promise<void>; asked: string[] } {
    const asked: string[] = [];
    const waiting: Array<() => void> = [];
    const stop = runtime.stop.bind(runtime);
    runtime.stop = (id, timeoutSeconds) => {
      asked.push(`${id}:${timeoutSeconds}`);
      return new Promise<void>((resolve) => waiting.push(() => void stop(id, timeoutSeconds).then(resolve)));
    };
    return {
      asked,
      release: async () => {
        for (const go of waiting.splice(0)) go();
        await tick();
      },
    };
  }

  it('stops the victims at once with the stop timeout, counts them as stopping, and replaces none', async () => {
    await startFactory({ slots: 3, stopTimeoutSeconds: 7 });
    slotDirs.heartbeats.set(0, busy());
    slotDirs.heartbeats.set(1, busy());
    slotDirs.heartbeats.set(2, idle());
    const victims = [onSlot(1).id, onSlot(2).id];
    const stops = holdStops();
    factory.setSlots(1, true);
    await tick();
    expect(stops.asked.sort()).toEqual(victims.map((id) => `${id}:7`).sort());
    expect(runtime.callsOf('signal:')).toEqual([]);
    expect(seen['slot-stopping'].map(([e]) => e.slot).sort()).toEqual([1, 2]);
    expect(seen['slot-draining']).toEqual([]);
    expect(factory.summary()).toMatchObject({ desired: 1, serving: 1, stopping: 2, draining: 0 });
    factory.requestReconcile();
    await tick();
    expect(factory.summary()).toMatchObject({ desired: 1, serving: 1, stopping: 2, draining: 0 });
    expect(stops.asked).toHaveLength(2); // not asked again while the first stops are in flight

    await stops.release();
    await clock.advance(RESYNC);
    expect(runningSlots()).toEqual([0]);
    expect(seen['slot-exited'].map(([e]) => [e.slot, e.reason, e.retryInMs])).toEqual([
      [1, 'drained', undefined],
      [2, 'drained', undefined],
    ]);
    expect(factory.summary()).toMatchObject({ serving: 1, stopping: 0, draining: 0, backoff: 0 });
    expect(createsOf(1) + createsOf(2)).toBe(2);
  });

  it('uses 30 s as the stop timeout unless told', async () => {
    await startFactory({ slots: 2 });
    const victim = onSlot(1).id;
    factory.setSlots(1, true);
    await tick();
    expect(runtime.callsOf('stop:')).toEqual([`stop:${victim}:30`]);
  });

  it('drains instead without force', async () => {
    await startFactory({ slots: 2 });
    const victim = onSlot(1).id;
    factory.setSlots(1);
    await tick();
    expect(runtime.callsOf('stop:')).toEqual([]);
    expect(runtime.callsOf('signal:')).toEqual([`signal:${victim}:SIGUSR1`]);
    expect(factory.desiredState.forceScaleDown).toBe(false);
  });

  it('stops a victim again when the stop failed, instead of counting it as stopping for ever', async () => {
    await startFactory({ slots: 2 });
    const victim = onSlot(1).id;
    const stop = runtime.stop.bind(runtime);
    let failures = 1;
    runtime.stop = async (id, timeoutSeconds) => {
      runtime.calls.push(`stop-asked:${id}`);
      if (failures-- > 0) throw engineError(500, 'engine busy');
      return stop(id, timeoutSeconds);
    };
    factory.setSlots(1, true);
    await tick();
    expect(seen['action-failed'].map(([e]) => e.action.kind)).toEqual(['stop']);
    await clock.advance(RESYNC);
    expect(runtime.callsOf(`stop-asked:${victim}`)).toHaveLength(2);
    expect(runtime.containers.has(victim)).toBe(false);
    expect(runningSlots()).toEqual([0]);
    expect(factory.summary()).toMatchObject({ serving: 1, stopping: 0 });
  });
});

describe('Factory: status between passes', () => {
  it('lists each slot container by slot, with its short id, phase, state and job', async () => {
    slotDirs.heartbeats.set(0, busy());
    slotDirs.heartbeats.set(2, idle());
    await startFactory({ slots: 3 });
    expect(factory.slots()).toEqual([
      {
        slot: 0,
        id: onSlot(0).id.slice(0, 12),
        phase: 'running',
        draining: false,
        stopping: false,
        state: 'Claimed',
        jobId: '12.0',
      },
      { slot: 1, id: onSlot(1).id.slice(0, 12), phase: 'running', draining: false, stopping: false },
      {
        slot: 2,
        id: onSlot(2).id.slice(0, 12),
        phase: 'running',
        draining: false,
        stopping: false,
        state: 'Unclaimed',
      },
    ]);
    factory.setSlots(2);
    await tick();
    await factory.refreshHeartbeats();
    expect(factory.slots().map((s) => [s.slot, s.draining, s.stopping])).toEqual([
      [0, false, false],
      [1, false, false],
      [2, true, false],
    ]);
  });

  it('is empty before the first pass, and refreshHeartbeats has nothing to say then', async () => {
    makeFactory();
    expect(factory.slots()).toEqual([]);
    expect(await factory.refreshHeartbeats()).toBeUndefined();
    expect(seen.summary).toEqual([]);
  });

  it('picks up a heartbeat written after the pass, from the files alone', async () => {
    await startFactory({ slots: 2 });
    expect(factory.summary()).toMatchObject({ claimed: 0, idle: 0 });
    expect(factory.summary()?.oldestHeartbeatEpoch).toBeUndefined();
    const calls = runtime.calls.length;
    slotDirs.heartbeats.set(0, busy());
    slotDirs.heartbeats.set(1, heartbeat({ epoch: busy().epoch - 60 }));
    const refreshed = await factory.refreshHeartbeats();
    expect(refreshed).toMatchObject({ serving: 2, claimed: 1, idle: 1, oldestHeartbeatEpoch: busy().epoch - 60 });
    expect(factory.summary()).toEqual(refreshed);
    expect(factory.slots().map((s) => s.state)).toEqual(['Claimed', 'Unclaimed']);
    expect(runtime.calls.length).toBe(calls); // no Docker request
  });

  it('counts a pilot whose heartbeat now says draining as draining', async () => {
    await startFactory({ slots: 2 });
    slotDirs.heartbeats.set(1, heartbeat({ phase: 'draining' }));
    expect(await factory.refreshHeartbeats()).toMatchObject({ serving: 1, draining: 1 });
    expect(factory.slots()[1]).toMatchObject({ slot: 1, draining: true });
  });

  it('forgets a heartbeat that is gone', async () => {
    slotDirs.heartbeats.set(0, busy());
    await startFactory({ slots: 1 });
    slotDirs.heartbeats.clear();
    expect(await factory.refreshHeartbeats()).toMatchObject({ claimed: 0 });
    expect(factory.slots()[0]!.state).toBeUndefined();
  });

  it('emits a summary after each pass and after each refresh', async () => {
    await startFactory({ slots: 2 });
    expect(seen.summary.length).toBe(seen.reconciled.length);
    expect(seen.summary.map(([s]) => s)).toEqual(seen.reconciled.map(([r]) => r.summary));
    await clock.advance(RESYNC);
    expect(seen.summary.length).toBe(seen.reconciled.length);
    const before = seen.summary.length;
    slotDirs.heartbeats.set(0, busy());
    await factory.refreshHeartbeats();
    expect(seen.summary.length).toBe(before + 1);
    expect(seen.summary.at(-1)![0]).toMatchObject({ claimed: 1 });
  });

  it('does not put back what a pass saw meanwhile: a refresh that finishes after a pass keeps the newer view', async () => {
    await startFactory({ slots: 1 });
    const old = onSlot(0);
    // The refresh's heartbeat read hangs until released, while a pass replaces the pilot.
    let release!: () => void;
    const read = slotDirs.heartbeat.bind(slotDirs);
    let holdNext = true;
    slotDirs.heartbeat = async (slot: number) => {
      if (holdNext) {
        holdNext = false;
        await new Promise<void>((resolve) => (release = resolve));
      }
      return read(slot);
    };
    const refreshing = factory.refreshHeartbeats();
    runtime.exit(old.id, 1);
    await tick();
    await tick();
    const replacement = onSlot(0);
    expect(replacement.id).not.toBe(old.id);
    expect(factory.slots().map((s) => s.id)).toEqual([replacement.id.slice(0, 12)]);
    release();
    await refreshing;
    expect(factory.slots().map((s) => s.id)).toEqual([replacement.id.slice(0, 12)]);
    expect(factory.summary()).toMatchObject({ serving: 1 });
  });
});

describe('Factory: bookkeeping stays as small as the slot count', () => {
  /** The factory's private ledger, read for this test only: it must not grow with every container ever seen. */
  const idSets = () => (factory as unknown as { ledger: SlotLedger }).ledger.remembered();

  it('forgets the ids of containers the engine no longer lists', async () => {
    await startFactory({ slots: 3 });
    const gone: string[] = [];
    for (let round = 0; round < 5; round++) {
      const victim = onSlot(round % 3);
      gone.push(victim.id);
      runtime.exit(victim.id, 0);
      await tick();
    }
    factory.setSlots(1);
    await tick();
    factory.setSlots(0, true);
    await tick();
    for (const c of runtime.running()) {
      gone.push(c.id);
      runtime.exit(c.id, 0);
    }
    await tick();
    await clock.advance(RESYNC);
    expect(runtime.containers.size).toBe(0);
    expect(runtime.callsOf('signal:').length + runtime.callsOf('stop:').length).toBeGreaterThan(0);
    expect(idSets()).toEqual({ exitsSeen: [], died: [], drainSent: [], stopSent: [] });
  });

  it('keeps the ids of containers still there', async () => {
    await startFactory({ slots: 2 });
    const release = runtime.holdRemovals();
    const victim = onSlot(1);
    runtime.exit(victim.id, 1);
    await tick();
    await clock.advance(RESYNC);
    expect(idSets().exitsSeen).toEqual([victim.id]);
    expect(seen['slot-exited']).toHaveLength(1); // and so the exit is reported once
    release();
    await tick();
    await clock.advance(RESYNC);
    expect(idSets().exitsSeen).toEqual([]);
  });
});

describe('scratch directories', () => {
  it('empties each slot’s scratch before its container is made, and mounts it at /scratch', async () => {
    await startFactory({ slots: 2 });
    expect([...slotDirs.emptied].sort()).toEqual([0, 1]);
    expect(onSlot(1).options.HostConfig?.Binds).toContain(`${slotDirs.scratchOf(1)}:/scratch`);
  });

  it('empties a slot’s scratch when its exited container is removed, and again before the replacement: never another slot’s', async () => {
    await startFactory({ slots: 3 });
    slotDirs.emptied.length = 0;
    runtime.exit(onSlot(1).id, 1);
    await tick();
    expect(slotDirs.emptied).toEqual([1, 1]);
    expect(runningSlots()).toEqual([0, 1, 2]);
  });

  it('empties the scratch of a slot scaled away', async () => {
    await startFactory({ slots: 2 });
    slotDirs.emptied.length = 0;
    factory.setSlots(1);
    await tick();
    const [, victim = ''] = runtime.callsOf('signal:')[0]!.split(':');
    const victimSlot = slotOfContainer(runtime.get(victim));
    runtime.exit(victim, 0);
    await tick();
    expect(slotDirs.emptied).toEqual([victimSlot]);
    expect(runtime.containers.size).toBe(1);
  });

  it('leaves the scratch alone when a duplicate on the same index still runs', async () => {
    runtime.seed({ slot: 0, templateHash: HASH, createdAt: 1_000 });
    const duplicate = runtime.seed({ slot: 0, templateHash: HASH, state: 'exited', createdAt: 2_000 });
    await startFactory({ slots: 1 });
    expect(runtime.callsOf('remove:')).toEqual([`remove:${duplicate.id}`]);
    expect(slotDirs.emptied).toEqual([]);
  });

  it('never makes a container whose scratch cannot be emptied: the slot backs off', async () => {
    slotDirs.emptyFailures.push(Object.assign(new Error('EBUSY: resource busy'), { code: 'EBUSY' }));
    await startFactory({ slots: 1 });
    expect(runtime.callsOf('create:')).toHaveLength(0);
    expect(runtime.containers.size).toBe(0);
    expect(seen['action-failed'][0]?.[0].error.message).toMatch(/EBUSY/);
    expect(factory.summary()?.backoff).toBe(1);
  });

  it('empties the scratch of every pilot it stops with close("stop")', async () => {
    await startFactory({ slots: 2 });
    slotDirs.emptied.length = 0;
    await factory.close('stop', 1);
    expect([...slotDirs.emptied].sort()).toEqual([0, 1]);
  });
});

describe('Factory: machine/job features', () => {
  it('rewrites a running slot’s job features at the next pass once its deadline is set, and again when it goes', async () => {
    const deadlines = new Map<number, number>();
    await startFactory({ slots: 1, slotDeadline: (slot) => deadlines.get(slot) });
    expect(slotDirs.features.get(0)?.job).not.toHaveProperty('shutdowntime_job');
    const started = Math.floor(onSlot(0).createdAt / 1000);
    deadlines.set(0, started + 3600);
    factory.requestReconcile(0);
    await tick();
    expect(slotDirs.features.get(0)?.job).toMatchObject({
      shutdowntime_job: `${started + 3600}\n`,
      wall_limit_secs: '3600\n',
    });
    const writes = slotDirs.featureWrites;
    factory.requestReconcile(0);
    await tick();
    expect(slotDirs.featureWrites).toBe(writes); // nothing changed: nothing written
    deadlines.delete(0);
    factory.requestReconcile(0);
    await tick();
    expect(slotDirs.features.get(0)?.job).not.toHaveProperty('wall_limit_secs');
  });

  it('tells the deadline a drain gave a running slot, for its job features', async () => {
    await startFactory({ slots: 1 });
    expect(factory.slotDeadline(0)).toBeUndefined();
    const deadline = onSlot(0).createdAt + 3_600_000;
    factory.setDraining(true, deadline);
    await tick();
    factory.requestReconcile(0);
    await tick();
    expect(factory.slotDeadline(0)).toBe(Math.round(deadline / 1000) * 1000);
  });

  it('publishes the host’s machine features, total_cpu defaulting to the slot’s own cores', async () => {
    await startFactory({ slots: 1 });
    expect(slotDirs.features.get(0)?.machine).toEqual({ total_cpu: '1\n' });
  });
});
