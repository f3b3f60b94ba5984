import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONFIG_DEFAULTS, type FactoryConfig } from './config.js';
import type { LogFields } from './logger.js';
import { FakeClock } from './testing/fake-clock.js';
import { TimeFollowers, shutdownTimeFileOf } from './time-followers.js';

const MONDAY_0900_UTC = Date.UTC(2026, 11, 7, 9, 0);
const config = (extra: Partial<FactoryConfig> = {}): FactoryConfig => ({ ...CONFIG_DEFAULTS, slots: 16, ...extra });
const office = {
  timeZone: 'UTC',
  leadSeconds: 1800,
  windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'] as const, from: '08:00', to: '18:00', slots: 4 }],
} as unknown as FactoryConfig['schedule'];

function followers(c: FactoryConfig, env: Record<string, string> = {}) {
  const clock = new FakeClock(MONDAY_0900_UTC);
  const calls: string[] = [];
  const logs: [string, LogFields | undefined][] = [];
  const subject = new TimeFollowers({
    config: c,
    env,
    clock,
    logger: { log: (_, event, fields) => logs.push([event, fields]) },
    target: {
      setSlots: (n, deadline) => calls.push(`slots ${n}${deadline === undefined ? '' : ` by ${deadline}`}`),
      setDraining: (d, deadline) =>
        calls.push(`${d ? 'drain' : 'resume'}${deadline === undefined ? '' : ` by ${deadline}`}`),
    },
  });
  return { clock, calls, logs, subject };
}

describe('shutdownTimeFileOf', () => {
  it.each([
    [{ shutdownTimeFile: '/etc/mf/shutdowntime' }, { MACHINEFEATURES: '/var/mf' }, '/etc/mf/shutdowntime'],
    [{}, { MACHINEFEATURES: '/var/mf' }, '/var/mf/shutdowntime'],
    [{}, { MACHINEFEATURES: 'relative' }, undefined],
    [{}, {}, undefined],
  ])('%j with %j → %j', (extra, env, file) => {
    expect(shutdownTimeFileOf(config(extra), env)).toBe(file);
  });
});

describe('TimeFollowers', () => {
  it('starts at the configured count without a schedule, at the window count with one', () => {
    expect(followers(config()).subject.initialSlots()).toBe(16);
    expect(followers(config({ schedule: office })).subject.initialSlots()).toBe(4);
  });

  it('lets a scale by hand hold until the boundary, then logs and sets the schedule count', async () => {
    const { clock, calls, logs, subject } = followers(config({ schedule: office }));
    subject.initialSlots();
    await subject.start();
    subject.scaledByHand();
    await clock.advance(9 * 3600_000); // past 18:00 UTC
    expect(calls).toEqual(['slots 16']);
    expect(logs).toEqual([['schedule-applied', { slots: 16, deadline: undefined, next: '2026-12-08T08:00:00.000Z' }]]);
    subject.stop();
    expect(clock.pending).toBe(0);
  });

  it('knows no shutdown time when no file announces one', async () => {
    const { subject } = followers(config(), {});
    await subject.start();
    expect(subject.shutdownAt()).toBeUndefined();
    subject.stop();
  });

  it('applies a schedule that a reload adds, and stops following one a reload removes', () => {
    const { clock, calls, subject } = followers(config());
    subject.reloaded(config({ schedule: office }));
    expect(calls).toEqual(['slots 4']);
    subject.reloaded(config());
    expect(clock.pending).toBe(0);
  });

  it('drains by a shutdown time already announced at start, with it as the deadline', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'time-followers-'));
    try {
      await writeFile(path.join(dir, 'shutdowntime'), '1796032800\n');
      const { calls, logs, subject } = followers(config(), { MACHINEFEATURES: dir });
      await subject.start();
      expect(calls).toEqual(['drain by 1796032800000']);
      expect(logs).toEqual([['shutdown-time-draining', { deadline: '2026-11-30T10:00:00.000Z' }]]);
      expect(subject.shutdownAt()).toBe(1796032800000);
      subject.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
