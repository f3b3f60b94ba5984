/** Per-slot crash-loop backoff: how often a slot has failed in a row, and when it may start again. */
export interface SlotBackoff {
  failures: number;
  retryAt: number;
}

export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 5 * 60_000;
/** A container that ran this long was healthy: its slot's failure count starts again from zero. */
export const BACKOFF_RESET_AFTER_MS = 10 * 60_000;
/** A clean exit (0 or 99: idle limit, lifetime) after this long is a pilot's normal end, not a crash. */
export const CLEAN_EXIT_MIN_RUN_MS = 60_000;
/**
 * A container that stayed up this long before it died was not crash-looping (it was killed, or its pilot failed
 * late): it is replaced at once and its slot counts from one again. Only quicker deaths grow the wait, so a slot
 * never starts more than 60 s / 10 s = 6 times a minute even when every start fails.
 */
export const CRASH_LOOP_WINDOW_MS = 10_000;

/**
 * The backoff after a container on the slot exited. One crash is replaced at once (a killed pilot should come
 * back fast); a second quick one in a row waits 1 s, then 2 s, 4 s … up to 5 minutes. A death after 10 s up is a
 * first crash again. An exit the factory asked for (a drain), a clean exit after a minute up (idle limit,
 * lifetime), or any exit after 10 minutes up clears it.
 */
export function afterExit(
  previous: SlotBackoff | undefined,
  exit: { startedAt?: number; finishedAt: number; requested: boolean; clean?: boolean },
): SlotBackoff | undefined {
  const ranFor = exit.startedAt === undefined ? 0 : exit.finishedAt - exit.startedAt;
  if (exit.requested || ranFor >= BACKOFF_RESET_AFTER_MS) return undefined;
  // A pilot that retires cleanly after a while is replaced at once, every time; one that "succeeds" at once loops.
  if (exit.clean && ranFor >= CLEAN_EXIT_MIN_RUN_MS) return undefined;
  const failures = ranFor >= CRASH_LOOP_WINDOW_MS ? 1 : (previous?.failures ?? 0) + 1;
  const delay = failures === 1 ? 0 : Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (failures - 2));
  return { failures, retryAt: exit.finishedAt + delay };
}
