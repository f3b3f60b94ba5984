import { DateTime } from 'luxon';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A slot count for a span of each listed day: `from` on that day until `to` (the next day when `to` ≤ `from`). */
export interface ScheduleWindow {
  days: readonly Weekday[];
  /** HH:MM local time, 00:00–23:59. */
  from: string;
  /** HH:MM local time, 00:00–24:00. */
  to: string;
  slots: number;
}

export interface Schedule {
  windows: readonly ScheduleWindow[];
  /** The count outside every window. */
  defaultSlots: number;
  /** An IANA zone name, or `local` for the host's. */
  zone: string;
}

/** What the schedule wants now, and when it must be asked again. */
export interface ScheduleDecision {
  slots: number;
  /** When the count went down ahead of a boundary: the victims must be gone by then (epoch ms). */
  deadline?: number;
  /** The next instant at which the decision changes (a boundary, or the start of draining ahead of one). */
  wakeAt?: number;
  /** The next boundary, where a hand-set count stops overriding the schedule. */
  boundary?: number;
}

const MINUTES_PER_DAY = 24 * 60;
const MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY;

/** `08:30` → 510; `24:00` → 1440. The schema has checked the form. */
export function minutesOf(time: string): number {
  const [hours, minutes] = time.split(':').map(Number);
  return hours! * 60 + minutes!;
}

/** Minutes past midnight on `day`, as a zoned instant; a time in a spring-forward gap moves on by the gap (RFC 5545). */
function at(day: DateTime, minutes: number): DateTime {
  return minutes === MINUTES_PER_DAY
    ? day.plus({ days: 1 })
    : day.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 });
}

interface Occurrence {
  start: number;
  end: number;
  slots: number;
}

/** Every occurrence of every window that starts on a day from `firstDay` to `lastDay` after `t`'s local date. */
function occurrences(schedule: Schedule, t: number, firstDay: number, lastDay: number): Occurrence[] {
  const today = DateTime.fromMillis(t, { zone: schedule.zone }).startOf('day');
  const found: Occurrence[] = [];
  for (let offset = firstDay; offset <= lastDay; offset++) {
    const day = today.plus({ days: offset });
    const weekday = WEEKDAYS[day.weekday - 1]!;
    for (const window of schedule.windows) {
      if (!window.days.includes(weekday)) continue;
      const from = minutesOf(window.from);
      const to = minutesOf(window.to);
      const start = at(day, from);
      const end = to > from ? at(day, to) : at(day.plus({ days: 1 }), to);
      found.push({ start: start.toMillis(), end: end.toMillis(), slots: window.slots });
    }
  }
  return found;
}

/** The slot count the schedule wants at instant `t`. */
export function slotsAt(schedule: Schedule, t: number): number {
  // A window that began yesterday may still run (over midnight); none lasts longer than a day.
  const current = occurrences(schedule, t, -1, 0).find((o) => o.start <= t && t < o.end);
  return current ? current.slots : schedule.defaultSlots;
}

/** The first instant after `t` where a window starts or ends, if the schedule has any window. */
export function nextBoundary(schedule: Schedule, t: number): number | undefined {
  // Every listed weekday comes round within a week; one day more covers a window that began the day before.
  const after = occurrences(schedule, t, -1, 8)
    .flatMap((o) => [o.start, o.end])
    .filter((b) => b > t);
  return after.length ? Math.min(...after) : undefined;
}

/**
 * The count for `now`. When the next boundary lowers it, the lower count applies from `leadMs` before it, with the
 * boundary as the victims' deadline, so their cores are free when the window starts. Only the next boundary counts.
 */
export function decide(schedule: Schedule, now: number, leadMs: number): ScheduleDecision {
  const slots = slotsAt(schedule, now);
  const boundary = nextBoundary(schedule, now);
  if (boundary === undefined) return { slots };
  const after = slotsAt(schedule, boundary);
  if (after >= slots) return { slots, wakeAt: boundary, boundary };
  const drainFrom = boundary - leadMs;
  if (now >= drainFrom) return { slots: after, deadline: boundary, wakeAt: boundary, boundary };
  return { slots, wakeAt: drainFrom, boundary };
}

/** A week's minutes each window covers, as half-open spans (a span past Sunday's end wraps to Monday). */
function weekSpans(window: ScheduleWindow): [number, number][] {
  const from = minutesOf(window.from);
  const to = minutesOf(window.to);
  const length = to > from ? to - from : to + MINUTES_PER_DAY - from;
  return [...new Set(window.days)].flatMap((day): [number, number][] => {
    const start = WEEKDAYS.indexOf(day) * MINUTES_PER_DAY + from;
    const end = start + length;
    return end <= MINUTES_PER_WEEK
      ? [[start, end]]
      : [
          [start, MINUTES_PER_WEEK],
          [0, end - MINUTES_PER_WEEK],
        ];
  });
}

const clockText = (minute: number) =>
  `${WEEKDAYS[Math.floor(minute / MINUTES_PER_DAY)]} ` +
  `${String(Math.floor((minute % MINUTES_PER_DAY) / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;

/** The first pair of windows that cover the same minute of the week, as the words of an error, or undefined. */
export function overlapOf(windows: readonly ScheduleWindow[]): { index: number; message: string } | undefined {
  const spans = windows.map(weekSpans);
  for (let j = 1; j < windows.length; j++) {
    for (let i = 0; i < j; i++) {
      for (const [a0, a1] of spans[i]!) {
        for (const [b0, b1] of spans[j]!) {
          if (a0 < b1 && b0 < a1)
            return {
              index: j,
              message: `windows that do not overlap: windows ${i} and ${j} both cover ${clockText(Math.max(a0, b0))}`,
            };
        }
      }
    }
  }
  return undefined;
}
