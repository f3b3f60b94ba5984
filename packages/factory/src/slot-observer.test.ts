import { beforeEach, describe, expect, it } from '@jest/globals';
import type { ListedContainer } from './docker-runtime.js';
import { SlotLedger } from './slot-ledger.js';
import { SlotObserver } from './slot-observer.js';
import { busy, heartbeat, idle } from './testing/builders.js';
import { FakeClock } from './testing/fake-clock.js';
import { FakeRuntime } from './testing/fake-runtime.js';
import { FakeSlotDirs } from './testing/fake-slot-dirs.js';

let clock: FakeClock;
let runtime: FakeRuntime;
let slotDirs: FakeSlotDirs;
let ledger: SlotLedger;
let factoryDraining: boolean;
let observer: SlotObserver;

beforeEach(() => {
  clock = new FakeClock();
  runtime = new FakeRuntime(clock);
  slotDirs = new FakeSlotDirs();
  ledger = new SlotLedger();
  factoryDraining = false;
  observer = new SlotObserver({ name: 'f', runtime, slotDirs, clock, ledger, factoryDraining: () => factoryDraining });
});

const listed = (id: string, slot: number, state: string): ListedContainer => ({
  id,
  slot,
  templateHash: 'h',
  state,
  createdAt: 1_000 + slot,
});

describe('SlotObserver: what is there', () => {
  it('takes each listed container’s phase from its state, and leaves out those being removed', async () => {
    const taken = Promise.resolve([
      listed('a', 0, 'created'),
      listed('b', 1, 'running'),
      listed('c', 2, 'exited'),
      listed('d', 3, 'dead'),
      listed('e', 4, 'removing'),
    ]);
    const { observed } = await observer.observe(taken);
    expect(observed.map((c) => [c.id, c.phase])).toEqual([
      ['a', 'created'],
      ['b', 'running'],
      ['c', 'exited'],
      ['d', 'exited'],
    ]);
    expect(runtime.callsOf('list')).toEqual([]); // the list it was given
  });

  it('lists the factory’s containers itself when given none', async () => {
    runtime.seed({ slot: 0, templateHash: 'h' });
    runtime.seed({ factory: 'other', slot: 0, templateHash: 'h' });
    const { observed } = await observer.observe();
    expect(observed.map((c) => c.slot)).toEqual([0]);
    expect(runtime.callsOf('list')).toEqual(['list']);
  });

  it('asks the engine about a container listed running after a die event, and only then', async () => {
    const dead = runtime.seed({ slot: 0, templateHash: 'h' });
    const alive = runtime.seed({ slot: 1, templateHash: 'h' });
    const restarted = runtime.seed({ slot: 2, templateHash: 'h' });
    for (const c of [dead, alive, restarted]) runtime.laggingList.add(c.id);
    dead.state = 'exited';
    ledger.sawEvent({ id: dead.id, action: 'die' });
    ledger.sawEvent({ id: restarted.id, action: 'die' });
    const { observed } = await observer.observe();
    expect(observed.map((c) => c.phase)).toEqual(['exited', 'running', 'running']);
    expect(runtime.callsOf('inspect:')).toEqual([
      `inspect:${dead.id}`,
      `inspect:${restarted.id}`,
      `inspect:${dead.id}`,
    ]);
  });

  it('reads the heartbeats of running pilots only, and counts one told to drain, or saying so, as draining', async () => {
    slotDirs.heartbeats.set(0, busy());
    slotDirs.heartbeats.set(1, heartbeat({ phase: 'draining' }));
    slotDirs.heartbeats.set(3, idle());
    ledger.sentDrain('c', clock.now());
    const taken = Promise.resolve([
      listed('a', 0, 'running'),
      listed('b', 1, 'running'),
      listed('c', 2, 'running'),
      listed('d', 3, 'created'),
    ]);
    const { observed } = await observer.observe(taken);
    expect(observed.map((c) => [c.id, c.heartbeat?.state ?? null, c.draining])).toEqual([
      ['a', 'Claimed', false],
      ['b', 'Unclaimed', true],
      ['c', null, true],
      ['d', null, false],
    ]);
  });

  it('forgets in the ledger the containers the engine no longer lists', async () => {
    ledger.sentDrain('gone', clock.now());
    ledger.sentDrain('a', clock.now());
    await observer.observe(Promise.resolve([listed('a', 0, 'running')]));
    expect(ledger.remembered().drainSent).toEqual(['a']);
  });
});

describe('SlotObserver: exits', () => {
  it('reports an exit once, with its code, how long it ran, and why', async () => {
    const c = runtime.seed({ slot: 1, templateHash: 'h' });
    await clock.advance(300);
    runtime.exit(c.id, 137);
    const first = await observer.observe();
    expect(first.exits).toEqual([{ slot: 1, id: c.id, exitCode: 137, reason: 'failed', ranForMs: 300 }]);
    expect((await observer.observe()).exits).toEqual([]);
  });

  it.each<[string, number, string, boolean, boolean]>([
    ['a clean exit', 99, 'clean', false, false],
    ['a failure while the factory drains', 1, 'drained', true, false],
    ['a failure after the factory told it to drain', 1, 'drained', false, true],
  ])('reports %s (code %i) as %s', async (_name, code, reason, draining, told) => {
    const c = runtime.seed({ slot: 0, templateHash: 'h' });
    runtime.exit(c.id, code);
    factoryDraining = draining;
    if (told) ledger.sentDrain(c.id, clock.now());
    expect((await observer.observe()).exits[0]).toMatchObject({ exitCode: code, reason });
  });

  it('reports a slot whose memory limit killed a process as oom, unless it was asked to drain', async () => {
    const killed = runtime.seed({ slot: 0, templateHash: 'h' });
    runtime.exit(killed.id, 137, true);
    expect((await observer.observe()).exits[0]).toMatchObject({ exitCode: 137, reason: 'oom' });
    const drained = runtime.seed({ slot: 1, templateHash: 'h' });
    runtime.exit(drained.id, 0, true);
    factoryDraining = true;
    expect((await observer.observe()).exits[0]).toMatchObject({ slot: 1, reason: 'drained' });
  });

  it('backs a slot off on its second quick failure, and says how long until it is tried again', async () => {
    for (const expected of [undefined, 1_000]) {
      const c = runtime.seed({ slot: 0, templateHash: 'h' });
      runtime.exit(c.id, 1);
      const [exit] = (await observer.observe()).exits;
      expect(exit?.retryInMs).toBe(expected);
      await runtime.remove(c.id);
    }
    expect(ledger.retryAt().get(0)).toBe(clock.now() + 1_000);
  });
});

describe('SlotObserver: heartbeats between passes', () => {
  it('reads the running pilots’ heartbeats again, dropping one that is gone and keeping a drain', async () => {
    slotDirs.heartbeats.set(0, busy());
    slotDirs.heartbeats.set(2, idle());
    ledger.sentDrain('c', clock.now());
    const { observed } = await observer.observe(
      Promise.resolve([
        listed('a', 0, 'running'),
        listed('b', 1, 'running'),
        listed('c', 2, 'running'),
        listed('d', 3, 'exited'),
      ]),
    );
    slotDirs.heartbeats.delete(0);
    slotDirs.heartbeats.set(1, heartbeat({ phase: 'draining' }));
    slotDirs.heartbeats.set(3, busy());
    const refreshed = await observer.refreshHeartbeats(observed);
    expect(refreshed.map((c) => [c.id, c.heartbeat?.phase ?? null, c.draining])).toEqual([
      ['a', null, false],
      ['b', 'draining', true],
      ['c', 'running', true],
      ['d', null, false],
    ]);
    expect(refreshed[3]).toBe(observed[3]);
  });
});
