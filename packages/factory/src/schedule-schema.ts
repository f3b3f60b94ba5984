import { wholeNumber } from '@docker-cernvm/pilot';
import { IANAZone } from 'luxon';
import * as z from 'zod';
import { WEEKDAYS, type Weekday, overlapOf } from './schedule.js';

const DAY_WORDS = `${WEEKDAYS.join(', ')} or a range like mon-fri`;
const DAY = new RegExp(`^(${WEEKDAYS.join('|')})(?:-(${WEEKDAYS.join('|')}))?$`);

/** `mon-fri` → mon…fri; `fri-mon` wraps over the weekend. */
function daysOf(text: string): Weekday[] {
  const [, first, last] = DAY.exec(text)!;
  const from = WEEKDAYS.indexOf(first as Weekday);
  const to = last === undefined ? from : WEEKDAYS.indexOf(last as Weekday);
  const count = ((to - from + 7) % 7) + 1;
  return Array.from({ length: count }, (_, i) => WEEKDAYS[(from + i) % 7]!);
}

const dayItem = z.string({ error: DAY_WORDS }).regex(DAY, DAY_WORDS);

const windowSchema = (slots: z.ZodNumber) =>
  z
    .object({
      days: z
        .union([dayItem, z.array(dayItem, { error: DAY_WORDS }).min(1, DAY_WORDS)], { error: DAY_WORDS })
        .transform((days) => [...new Set((Array.isArray(days) ? days : [days]).flatMap(daysOf))]),
      from: z.string({ error: 'a time HH:MM' }).regex(/^(?:[01]\d|2[0-3]):[0-5]\d$/, 'a time HH:MM (00:00–23:59)'),
      to: z
        .string({ error: 'a time HH:MM' })
        .regex(/^(?:(?:[01]\d|2[0-3]):[0-5]\d|24:00)$/, 'a time HH:MM (00:00–24:00)'),
      slots,
    })
    .strict()
    .refine((w) => w.from !== w.to, {
      message: 'a time other than from (a window that ends at or before its start ends the next day)',
      path: ['to'],
    });

/** `schedule:` in the configuration file: slot counts by time window; outside every window, `slots` applies. */
export function scheduleSchema(slots: z.ZodNumber) {
  return z
    .object({
      /** The host's zone unless named. */
      timeZone: z
        .string({ error: 'an IANA time zone name' })
        .refine((zone) => IANAZone.isValidZone(zone), 'an IANA time zone name like Europe/Zurich')
        .optional(),
      /** How long before a boundary that lowers the count the victims start draining. */
      leadSeconds: wholeNumber(0, 7 * 86_400, 'whole seconds').default(1800),
      windows: z.array(windowSchema(slots), { error: 'a list of windows' }),
    })
    .strict()
    .superRefine((schedule, context) => {
      const overlap = overlapOf(schedule.windows);
      if (overlap) context.addIssue({ code: 'custom', message: overlap.message, path: ['windows', overlap.index] });
    });
}

export type ScheduleConfig = z.output<ReturnType<typeof scheduleSchema>>;
