import { describe, expect, it } from '@jest/globals';
import { BACKOFF_BASE_MS } from './backoff.js';
import type { Action } from './reconcile.js';
import { SlotLedger } from './slot-ledger.js';
import { running } from './testing/observed.js';

const create = (slot: number): Action => ({ kind: 'create', slot });
const drain = (id: string): Action => ({ kind: 'drain', slot: 0, id, reason: 'scale-down' });
const remove = (id: string): Action => ({ kind: 'remove', slot: 0, id, reason: 'exited' });

describe('SlotLedger: actions in flight', () => {
  it('holds an action from its begin to its end, one create per slot and one action of a kind per container', () => {
    const ledger = new SlotLedger();
    ledger.begin(create(3));
    ledger.begin(drain('a'));
    expect(ledger.isInFlight(create(3))).toBe(true);
    expect(ledger.isInFlight(create(4))).toBe(false);
    expect(ledger.isInFlight({ kind: 'drain', slot: 9, id: 'a', reason: 'template' })).toBe(true);
    expect(ledger.isInFlight(remove('a'))).toBe(false);
    ledger.end(drain('a'));
    expect(ledger.isInFlight(drain('a'))).toBe(false);
    expect(ledger.isInFlight(create(3))).toBe(true);
  });

  it('counts the slots being created, and hands out a copy their ends leave alone', () => {
    const ledger = new SlotLedger();
    ledger.begin(create(0));
    ledger.begin(create(1));
    const creating = ledger.creatingSlots();
    ledger.end(create(0));
    expect([...creating]).toEqual([0, 1]);
    expect([...ledger.creatingSlots()]).toEqual([1]);
    expect(ledger.creatingCount).toBe(1);
  });
});

describe('SlotLedger: drains and stops', () => {
  it('counts a container told to drain or stop as draining, and one told to stop as stopping', () => {
    const ledger = new SlotLedger();
    ledger.sentDrain('s0', 0);
    ledger.sentStop('s1');
    expect(ledger.isDraining(running(0))).toBe(true);
    expect(ledger.isDraining(running(1))).toBe(true);
    expect(ledger.isDraining(running(2))).toBe(false);
    expect(ledger.isDraining(running(2, { draining: true }))).toBe(true);
    expect([ledger.isStopping('s0'), ledger.isStopping('s1')]).toEqual([false, true]);
  });

  it('forgets a drain or stop that failed, so the next pass sends it again', () => {
    const ledger = new SlotLedger();
    ledger.sentDrain('s0', 0);
    ledger.sentStop('s1');
    ledger.drainFailed('s0');
    ledger.stopFailed('s1');
    expect(ledger.isDraining(running(0))).toBe(false);
    expect(ledger.isStopping('s1')).toBe(false);
  });

  it('forgets a drain the pilot did not hear: a heartbeat written over 2 s after it still says starting or running', () => {
    const sentAt = 1_000_000;
    const ledger = new SlotLedger();
    const heard = (phase: 'starting' | 'running' | 'draining', epochMs: number) => {
      ledger.sentDrain('s0', sentAt);
      ledger.checkDrainHeard('s0', { phase, epoch: epochMs / 1000 });
      return ledger.isDraining(running(0));
    };
    expect(heard('running', sentAt + 2_000)).toBe(true); // written about when it was sent: may predate it
    expect(heard('draining', sentAt + 60_000)).toBe(true);
    expect(heard('running', sentAt + 3_000)).toBe(false);
    expect(heard('starting', sentAt + 3_000)).toBe(false);
  });

  it('forgets all it knows of a container once it is removed', () => {
    const ledger = new SlotLedger();
    ledger.sentDrain('a', 0);
    ledger.sentStop('a');
    ledger.sawEvent({ id: 'a', action: 'die' });
    ledger.removed('a');
    expect(ledger.remembered()).toEqual({ exitsSeen: [], died: [], drainSent: [], stopSent: [] });
  });
});

describe('SlotLedger: events and exits', () => {
  it('remembers a die event until the container starts again', () => {
    const ledger = new SlotLedger();
    ledger.sawEvent({ id: 'a', action: 'die' });
    ledger.sawEvent({ id: 'b', action: 'health_status: healthy' });
    expect([ledger.hasDied('a'), ledger.hasDied('b')]).toEqual([true, false]);
    ledger.sawEvent({ id: 'a', action: 'start' });
    expect(ledger.hasDied('a')).toBe(false);
  });

  it('says an exit is new only the first time', () => {
    const ledger = new SlotLedger();
    expect(ledger.firstExit('a')).toBe(true);
    expect(ledger.firstExit('a')).toBe(false);
    expect(ledger.firstExit('b')).toBe(true);
  });
});

describe('SlotLedger: backoff', () => {
  it('replaces a first crash at once, backs off a second, and clears the slot on an exit it asked for', () => {
    const ledger = new SlotLedger();
    expect(ledger.recordExit(2, { startedAt: 0, finishedAt: 100, requested: false })).toEqual({
      failures: 1,
      retryAt: 100,
    });
    expect(ledger.recordExit(2, { startedAt: 200, finishedAt: 300, requested: false })).toEqual({
      failures: 2,
      retryAt: 300 + BACKOFF_BASE_MS,
    });
    expect(ledger.retryAt()).toEqual(new Map([[2, 300 + BACKOFF_BASE_MS]]));
    expect(ledger.recordExit(2, { startedAt: 400, finishedAt: 500, requested: true })).toBeUndefined();
    expect(ledger.retryAt()).toEqual(new Map());
  });

  it('makes a slot whose create failed wait at least a second, even the first time', () => {
    const ledger = new SlotLedger();
    ledger.recordCreateFailure(0, 5_000);
    expect(ledger.retryAt().get(0)).toBe(6_000);
  });
});

describe('SlotLedger: forgetting', () => {
  it('forgets the ids the engine no longer lists, but not those an action in flight is working on', () => {
    const ledger = new SlotLedger();
    for (const id of ['gone', 'listed', 'removing']) {
      ledger.firstExit(id);
      ledger.sawEvent({ id, action: 'die' });
      ledger.sentDrain(id, 0);
      ledger.sentStop(id);
    }
    ledger.begin(remove('removing'));
    ledger.begin(create(7));
    ledger.forget(new Set(['listed']));
    const kept = ['listed', 'removing'];
    expect(ledger.remembered()).toEqual({ exitsSeen: kept, died: kept, drainSent: kept, stopSent: kept });
    ledger.end(remove('removing'));
    ledger.forget(new Set());
    expect(ledger.remembered()).toEqual({ exitsSeen: [], died: [], drainSent: [], stopSent: [] });
  });
});
