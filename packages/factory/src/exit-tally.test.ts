import { describe, expect, it } from '@jest/globals';
import { EventEmitter } from 'eventemitter3';
import { ExitTally } from './exit-tally.js';
import type { FactoryEvents } from './factory-events.js';

describe('ExitTally', () => {
  const at = Date.parse('2026-12-04T18:00:00Z');

  it('counts exits by reason from nothing', () => {
    const events = new EventEmitter<FactoryEvents>();
    const tally = new ExitTally(events, () => at);
    expect(tally.status()).toEqual({ drained: 0, clean: 0, failed: 0, oom: 0 });
    events.emit('slot-exited', { slot: 0, id: 'a', exitCode: 0, reason: 'drained' });
    events.emit('slot-exited', { slot: 1, id: 'b', exitCode: 0, reason: 'drained' });
    events.emit('slot-exited', { slot: 1, id: 'c', exitCode: 0, reason: 'clean' });
    expect(tally.status()).toEqual({ drained: 2, clean: 1, failed: 0, oom: 0 });
  });

  it('names the latest failure or oom, which a later drain does not hide', () => {
    const events = new EventEmitter<FactoryEvents>();
    const tally = new ExitTally(events, () => at);
    events.emit('slot-exited', { slot: 2, id: 'a', exitCode: 1, reason: 'failed' });
    events.emit('slot-exited', { slot: 0, id: 'b', exitCode: 137, reason: 'oom' });
    events.emit('slot-exited', { slot: 3, id: 'c', exitCode: 0, reason: 'drained' });
    expect(tally.status()).toEqual({
      drained: 1,
      clean: 0,
      failed: 1,
      oom: 1,
      lastProblem: { slot: 0, reason: 'oom', exitCode: 137, at: '2026-12-04T18:00:00.000Z' },
    });
  });
});
