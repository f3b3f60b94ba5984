import { beforeEach, describe, expect, it } from '@jest/globals';
import type { CliIo } from './cli/context.js';
import { Factory, type SlotSummary } from './factory.js';
import { wireLogs } from './factory-logs.js';
import { type LogFields, type LogLevel, createLogger } from './logger.js';
import { testTemplate } from './testing/builders.js';
import { FakeClock } from './testing/fake-clock.js';
import { FakeRuntime } from './testing/fake-runtime.js';
import { FakeSlotDirs } from './testing/fake-slot-dirs.js';

const ID = `0123456789ab${'c'.repeat(52)}`;

let factory: Factory;
let logged: Array<{ level: LogLevel; event: string; fields: LogFields }>;
let stderr: string;

function wire(format: 'human' | 'json', isTerminal: boolean): void {
  const io: CliIo = { stdout: () => undefined, stderr: (t) => void (stderr += t), isTerminal };
  wireLogs(factory, { log: (level, event, fields = {}) => logged.push({ level, event, fields }) }, io, format);
}

const summary = (serving: number, desired = 3): SlotSummary => ({
  desired,
  serving,
  starting: desired - serving,
  draining: 0,
  coresHeld: serving,
  stopping: 0,
  backoff: 0,
  claimed: 0,
  idle: 0,
  unhealthy: 0,
  factoryDraining: false,
});

beforeEach(() => {
  const clock = new FakeClock();
  factory = new Factory({
    name: 'f',
    runtime: new FakeRuntime(clock),
    slotDirs: new FakeSlotDirs(),
    clock,
    slots: 3,
    template: testTemplate(),
    indexLimit: Number.POSITIVE_INFINITY,
    concurrency: 1,
    resyncMs: 30_000,
  });
  logged = [];
  stderr = '';
});

describe('wireLogs', () => {
  it('logs each slot event with the short container id and the slot as fields', () => {
    wire('json', false);
    factory.events.emit('slot-created', { slot: 2, id: ID, durationMs: 41 });
    factory.events.emit('slot-draining', { slot: 2, id: ID, reason: 'scale-down' });
    factory.events.emit('slot-stopping', { slot: 2, id: ID });
    factory.events.emit('slot-removed', { slot: 2, id: ID, reason: 'exited' });
    expect(logged).toEqual([
      { level: 'info', event: 'slot-started', fields: { slot: 2, id: '0123456789ab', ms: 41 } },
      { level: 'info', event: 'slot-draining', fields: { slot: 2, id: '0123456789ab', reason: 'scale-down' } },
      { level: 'info', event: 'slot-stopping', fields: { slot: 2, id: '0123456789ab' } },
      { level: 'debug', event: 'slot-removed', fields: { slot: 2, id: '0123456789ab', reason: 'exited' } },
    ]);
    expect(JSON.stringify(logged)).not.toContain(ID);
  });

  it('warns of a failed exit, with how long it ran and the wait before the next try, in seconds', () => {
    wire('json', false);
    factory.events.emit('slot-exited', {
      slot: 1,
      id: ID,
      exitCode: 1,
      reason: 'failed',
      ranForMs: 240,
      retryInMs: 1975,
    });
    factory.events.emit('slot-exited', { slot: 1, id: ID, exitCode: 0, reason: 'drained' });
    expect(logged).toEqual([
      {
        level: 'warn',
        event: 'slot-exited',
        fields: { slot: 1, id: '0123456789ab', code: 1, reason: 'failed', ran_s: 0.2, retry_in_s: 2 },
      },
      {
        level: 'info',
        event: 'slot-exited',
        fields: { slot: 1, id: '0123456789ab', code: 0, reason: 'drained', ran_s: undefined, retry_in_s: undefined },
      },
    ]);
  });

  it('logs failures on one line', () => {
    wire('json', false);
    factory.events.emit('action-failed', {
      action: { kind: 'stop', slot: 4, id: ID, reason: 'scale-down' },
      error: new Error('engine busy\nat line 2'),
    });
    factory.events.emit('error', new Error('list failed\ndetails'));
    factory.events.emit('events-disconnected', 'the engine closed the events stream');
    expect(logged).toEqual([
      { level: 'error', event: 'action-failed', fields: { action: 'stop', slot: 4, error: 'engine busy' } },
      { level: 'error', event: 'reconcile-failed', fields: { error: 'list failed' } },
      { level: 'warn', event: 'events-disconnected', fields: { reason: 'the engine closed the events stream' } },
    ]);
  });

  it('shows fill progress on a terminal with human logs, once per change, until filled', () => {
    wire('human', true);
    for (const serving of [0, 0, 1, 3, 3, 2])
      factory.events.emit('reconciled', { summary: summary(serving), durationMs: 1, actions: 0 });
    expect(stderr).toBe('slots 0/3 running\nslots 1/3 running\nslots 3/3 running\n');
    expect(logged).toEqual([]);
  });

  it('logs progress as events otherwise', () => {
    wire('json', true);
    for (const serving of [0, 2, 3])
      factory.events.emit('reconciled', { summary: summary(serving), durationMs: 1, actions: 0 });
    expect(stderr).toBe('');
    expect(logged.map((l) => [l.event, l.fields.running])).toEqual([
      ['progress', 0],
      ['progress', 2],
      ['progress', 3],
    ]);
  });

  it('writes through a real logger as one JSON object per line', () => {
    const lines: string[] = [];
    const io: CliIo = { stdout: () => undefined, stderr: () => undefined, isTerminal: false };
    wireLogs(
      factory,
      createLogger('json', (line) => lines.push(line)),
      io,
      'json',
    );
    factory.events.emit('drained');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', event: 'factory-drained' });
  });
});
