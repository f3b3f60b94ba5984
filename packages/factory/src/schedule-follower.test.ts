import { describe, expect, it } from '@jest/globals';
import { DateTime } from 'luxon';
import type { Schedule } from './schedule.js';
import { ScheduleFollower } from './schedule-follower.js';
import { FakeClock } from './testing/fake-clock.js';

const ZONE = 'Europe/Zurich';
const zurich = (iso: string) => DateTime.fromISO(iso, { zone: ZONE }).toMillis();
const MINUTE = 60_000;
// Weekdays 08:00–18:00 four slots, otherwise sixteen; 2026-12-07 is a Monday.
const office: Schedule = {
  windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '18:00', slots: 4 }],
  defaultSlots: 16,
  zone: ZONE,
};

function follower(start: string, schedule = office) {
  const clock = new FakeClock(zurich(start));
  const calls: { at: number; slots: number; deadline?: number }[] = [];
  const target = {
    setSlots: (slots: number, deadline?: number) =>
      calls.push({ at: clock.now(), slots, ...(deadline === undefined ? {} : { deadline }) }),
  };
  const subject = new ScheduleFollower({ clock, schedule, leadMs: 30 * MINUTE, target });
  return { clock, calls, subject };
}

describe('ScheduleFollower', () => {
  it('starts the factory at the count for now and sets nothing more until something changes', async () => {
    const { clock, calls, subject } = follower('2026-12-07T03:00');
    expect(subject.initialSlots()).toBe(16);
    subject.start();
    await clock.advance(4 * 60 * MINUTE); // to 07:00, still before the lead
    expect(calls).toEqual([]);
    subject.stop();
    expect(clock.pending).toBe(0);
  });

  it('lowers the count a lead before the window with the window start as deadline, raises it at the end', async () => {
    const { clock, calls, subject } = follower('2026-12-07T07:00');
    subject.initialSlots();
    subject.start();
    await clock.advance(12 * 60 * MINUTE); // to 19:00
    expect(calls).toEqual([
      { at: zurich('2026-12-07T07:30'), slots: 4, deadline: zurich('2026-12-07T08:00') },
      { at: zurich('2026-12-07T08:00'), slots: 4 },
      { at: zurich('2026-12-07T18:00'), slots: 16 },
    ]);
    subject.stop();
  });

  it('passes on the deadline at once when it starts within the lead', () => {
    const { calls, subject } = follower('2026-12-07T07:45');
    expect(subject.initialSlots()).toBe(4);
    subject.start();
    expect(calls).toEqual([{ at: zurich('2026-12-07T07:45'), slots: 4, deadline: zurich('2026-12-07T08:00') }]);
    subject.stop();
  });

  it('leaves a count set by hand alone until the next boundary, then applies the schedule again', async () => {
    const { clock, calls, subject } = follower('2026-12-07T09:00');
    subject.initialSlots();
    subject.start();
    subject.overrideByHand(); // say `scale 10` at 09:00
    await clock.advance(8 * 60 * MINUTE); // to 17:00: the override holds
    expect(calls).toEqual([]);
    await clock.advance(2 * 60 * MINUTE); // past 18:00
    expect(calls).toEqual([{ at: zurich('2026-12-07T18:00'), slots: 16 }]);
    subject.stop();
  });

  it('sets the count again after an override even when the schedule wants the same as before it', async () => {
    const { clock, calls, subject } = follower('2026-12-07T07:50');
    subject.initialSlots();
    subject.start(); // 4, deadline 08:00
    subject.overrideByHand(); // until 08:00
    await clock.advance(20 * MINUTE);
    expect(calls.map((c) => c.slots)).toEqual([4, 4]);
    expect(calls[1]).toEqual({ at: zurich('2026-12-07T08:00'), slots: 4 });
    subject.stop();
  });

  it('applies a reloaded schedule at once, over a count set by hand', () => {
    const { calls, subject } = follower('2026-12-07T09:00');
    subject.initialSlots();
    subject.start();
    subject.overrideByHand();
    subject.replace({ ...office, windows: [{ ...office.windows[0]!, slots: 2 }] }, 30 * MINUTE);
    expect(calls).toEqual([{ at: zurich('2026-12-07T09:00'), slots: 2 }]);
    subject.stop();
  });

  it('wakes at least hourly, so a clock set by hand is caught up with', async () => {
    const { clock, subject } = follower('2026-12-11T19:00'); // Friday evening: next boundary is Monday
    subject.initialSlots();
    subject.start();
    expect(clock.nextTimerAt).toBe(zurich('2026-12-11T20:00'));
    subject.stop();
  });
});
