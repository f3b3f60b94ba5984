import { describe, expect, it } from '@jest/globals';
import { DateTime } from 'luxon';
import { type Schedule, type ScheduleWindow, decide, nextBoundary, overlapOf, slotsAt } from './schedule.js';

const ZONE = 'Europe/Zurich';
/** A local wall-clock time in Zurich as an instant; `+01:00`/`+02:00` pins an ambiguous one. */
const zurich = (iso: string) => DateTime.fromISO(iso, { zone: ZONE, setZone: false }).toMillis();
const iso = (t: number | undefined) =>
  t === undefined ? undefined : DateTime.fromMillis(t, { zone: ZONE }).toISO({ suppressMilliseconds: true });

const weekdays = ['mon', 'tue', 'wed', 'thu', 'fri'] as const;
const office: ScheduleWindow = { days: weekdays, from: '08:00', to: '18:00', slots: 4 };
const night: ScheduleWindow = { days: ['sat'], from: '22:00', to: '06:00', slots: 32 };
const schedule = (windows: ScheduleWindow[], zone = ZONE): Schedule => ({ windows, defaultSlots: 16, zone });

describe('slotsAt and nextBoundary', () => {
  // 2026-12-07 is a Monday; 2026-03-29 and 2026-10-25 are the Sundays Zurich changes its clocks.
  it.each([
    ['a weekday inside the window', [office], '2026-12-07T09:00', 4, '2026-12-07T18:00:00+01:00'],
    ['the window start itself', [office], '2026-12-07T08:00', 4, '2026-12-07T18:00:00+01:00'],
    ['the window end itself (half-open)', [office], '2026-12-07T18:00', 16, '2026-12-08T08:00:00+01:00'],
    ['a weekday before the window', [office], '2026-12-07T07:59', 16, '2026-12-07T08:00:00+01:00'],
    ['Friday evening: the next start is Monday', [office], '2026-12-11T19:00', 16, '2026-12-14T08:00:00+01:00'],
    ['Saturday, no window that day', [office], '2026-12-12T12:00', 16, '2026-12-14T08:00:00+01:00'],
    ['over midnight, before it', [night], '2026-12-12T23:00', 32, '2026-12-13T06:00:00+01:00'],
    ['over midnight, after it (Sunday morning)', [night], '2026-12-13T05:59', 32, '2026-12-13T06:00:00+01:00'],
    ['over midnight, ended', [night], '2026-12-13T06:00', 16, '2026-12-19T22:00:00+01:00'],
    ['Friday night is not Saturday night', [night], '2026-12-12T01:00', 16, '2026-12-12T22:00:00+01:00'],
    ['spring forward: the day is an hour short', [office], '2026-03-30T07:00', 16, '2026-03-30T08:00:00+02:00'],
    [
      'spring forward: a start in the gap moves on by the gap',
      [{ days: ['sun'], from: '02:30', to: '05:00', slots: 2 }],
      '2026-03-29T01:59',
      16,
      '2026-03-29T03:30:00+02:00',
    ],
    [
      'spring forward: a window over the gap is an hour shorter',
      [{ days: ['sat'], from: '23:00', to: '04:00', slots: 2 }],
      '2026-03-29T03:59',
      2,
      '2026-03-29T04:00:00+02:00',
    ],
    [
      'fall back: an ambiguous end is the first 02:30',
      [{ days: ['sun'], from: '01:00', to: '02:30', slots: 2 }],
      '2026-10-25T02:00:00+02:00',
      2,
      '2026-10-25T02:30:00+02:00',
    ],
    [
      'fall back: the second 02:15 is past that end',
      [{ days: ['sun'], from: '01:00', to: '02:30', slots: 2 }],
      '2026-10-25T02:15:00+01:00',
      16,
      '2026-11-01T01:00:00+01:00',
    ],
    [
      'fall back: a window over the change is an hour longer',
      [{ days: ['sat'], from: '23:00', to: '04:00', slots: 2 }],
      '2026-10-25T03:30',
      2,
      '2026-10-25T04:00:00+01:00',
    ],
    [
      'a full day (00:00–24:00)',
      [{ days: ['sun'], from: '00:00', to: '24:00', slots: 0 }],
      '2026-12-13T23:59',
      0,
      '2026-12-14T00:00:00+01:00',
    ],
    ['no window at all', [], '2026-12-07T09:00', 16, undefined],
  ])('%s', (_, windows, now, slots, boundary) => {
    const s = schedule(windows as ScheduleWindow[]);
    expect(slotsAt(s, zurich(now))).toBe(slots);
    expect(iso(nextBoundary(s, zurich(now)))).toBe(boundary);
  });

  it('reads the wall clock in the zone it is given, not the process', () => {
    const t = Date.UTC(2026, 11, 7, 7, 30); // 07:30 UTC = 08:30 in Zurich
    expect(slotsAt(schedule([office], ZONE), t)).toBe(4);
    expect(slotsAt(schedule([office], 'UTC'), t)).toBe(16);
  });
});

describe('decide', () => {
  const lead = 30 * 60_000;
  const s = schedule([office]);

  it.each([
    [
      'well before a lowering boundary: the count stays, wakes when draining must start',
      '2026-12-07T06:00',
      16,
      undefined,
      '2026-12-07T07:30:00+01:00',
    ],
    [
      'within the lead: the lower count, the boundary as deadline',
      '2026-12-07T07:30',
      4,
      '2026-12-07T08:00:00+01:00',
      '2026-12-07T08:00:00+01:00',
    ],
    ['inside the window: its count, no deadline', '2026-12-07T08:00', 4, undefined, '2026-12-07T18:00:00+01:00'],
    ['the count going up needs no lead', '2026-12-07T17:50', 4, undefined, '2026-12-07T18:00:00+01:00'],
  ])('%s', (_, now, slots, deadline, wakeAt) => {
    const decision = decide(s, zurich(now), lead);
    expect(decision.slots).toBe(slots);
    expect(iso(decision.deadline)).toBe(deadline);
    expect(iso(decision.wakeAt)).toBe(wakeAt);
  });

  it('starts draining a full lead before a boundary that spring forward brings an hour closer', () => {
    const sunday = schedule([{ days: ['sun'], from: '04:00', to: '10:00', slots: 1 }]);
    const decision = decide(sunday, zurich('2026-03-29T00:30'), 2 * 60 * 60_000);
    // Two real hours before 04:00 that day is 01:00 on the clock, three hours of wall time earlier.
    expect(iso(decision.wakeAt)).toBe('2026-03-29T01:00:00+01:00');
  });

  it('has nothing to wake for without windows', () => {
    expect(decide(schedule([]), zurich('2026-12-07T09:00'), lead)).toEqual({ slots: 16 });
  });
});

describe('overlapOf', () => {
  it.each([
    [[office, night], undefined],
    [[office, { days: ['mon'], from: '18:00', to: '20:00', slots: 1 }], undefined],
    [[office, { days: ['wed'], from: '17:00', to: '19:00', slots: 1 }], 'windows 0 and 1 both cover wed 17:00'],
    [[night, { days: ['sun'], from: '05:00', to: '07:00', slots: 1 }], 'windows 0 and 1 both cover sun 05:00'],
    [
      [
        { days: ['sun'], from: '23:00', to: '01:00', slots: 1 },
        { days: ['mon'], from: '00:30', to: '02:00', slots: 1 },
      ],
      'windows 0 and 1 both cover mon 00:30',
    ],
    [
      [office, night, { days: ['sat', 'sun'], from: '00:00', to: '24:00', slots: 1 }],
      'windows 1 and 2 both cover sat 22:00',
    ],
  ] as [ScheduleWindow[], string | undefined][])('%#: %j', (windows, message) => {
    expect(overlapOf(windows)?.message).toBe(message && `windows that do not overlap: ${message}`);
  });
});
