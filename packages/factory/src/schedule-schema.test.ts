import { describe, expect, it } from '@jest/globals';
import { type ValueSource, checkFactoryConfig } from './config.js';

const FILE: ValueSource = { kind: 'file', file: '/etc/docker-cernvm/factory.yaml' };
const sources = new Map<string, ValueSource>([
  ['slots', FILE],
  ['schedule', FILE],
]);
const check = (schedule: unknown) => checkFactoryConfig({ slots: 16, schedule }, sources);
const refusal = (schedule: unknown) => {
  try {
    check(schedule);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('accepted');
};

describe('the schedule key', () => {
  it('reads days as ranges, lists and single days, with a lead of 30 minutes unless set', () => {
    const config = check({
      windows: [
        { days: 'mon-fri', from: '08:00', to: '18:00', slots: 4 },
        { days: ['sat', 'sun'], from: '10:00', to: '20:00', slots: 8 },
        { days: 'fri-mon', from: '22:00', to: '06:00', slots: 32 },
      ],
    });
    expect(config.schedule?.leadSeconds).toBe(1800);
    expect(config.schedule?.windows.map((w) => w.days)).toEqual([
      ['mon', 'tue', 'wed', 'thu', 'fri'],
      ['sat', 'sun'],
      ['fri', 'sat', 'sun', 'mon'],
    ]);
  });

  it.each([
    [
      {
        windows: [
          { days: 'mon-fri', from: '08:00', to: '18:00', slots: 4 },
          { days: 'wed', from: '12:00', to: '13:00', slots: 2 },
        ],
      },
      '/etc/docker-cernvm/factory.yaml: schedule.windows.1: expected windows that do not overlap: windows 0 and 1 both cover wed 12:00',
    ],
    [
      { windows: [{ days: 'mon', from: '8:00', to: '18:00', slots: 4 }] },
      '/etc/docker-cernvm/factory.yaml: schedule.windows.0.from: expected a time HH:MM (00:00–23:59)',
    ],
    [
      { windows: [{ days: 'monday', from: '08:00', to: '18:00', slots: 4 }] },
      '/etc/docker-cernvm/factory.yaml: schedule.windows.0.days: expected mon, tue, wed, thu, fri, sat, sun or a range like mon-fri',
    ],
    [
      { windows: [{ days: 'mon', from: '08:00', to: '08:00', slots: 4 }] },
      '/etc/docker-cernvm/factory.yaml: schedule.windows.0.to: expected a time other than from (a window that ends at or before its start ends the next day)',
    ],
    [
      { windows: [{ days: 'mon', from: '08:00', to: '18:00', slots: 5000 }] },
      '/etc/docker-cernvm/factory.yaml: schedule.windows.0.slots: expected a whole number of slots ≤ 4096',
    ],
    [
      { timeZone: 'Mars/Olympus', windows: [] },
      '/etc/docker-cernvm/factory.yaml: schedule.timeZone: expected an IANA time zone name like Europe/Zurich',
    ],
  ])('refuses %j in one line', (schedule, message) => {
    const text = refusal(schedule);
    expect(text).toBe(message);
    expect(text).not.toContain('\n');
  });
});
