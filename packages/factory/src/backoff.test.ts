import { describe, expect, it } from '@jest/globals';
import {
  BACKOFF_MAX_MS,
  BACKOFF_RESET_AFTER_MS,
  CLEAN_EXIT_MIN_RUN_MS,
  CRASH_LOOP_WINDOW_MS,
  type SlotBackoff,
  afterExit,
} from './backoff.js';

const T0 = 1_000_000;

/** Exits in a row, each `ranFor` ms after its start; returns the delay before each next start. */
function delaysOf(exits: number, ranFor = 50): number[] {
  let state: SlotBackoff | undefined;
  let now = T0;
  const delays: number[] = [];
  for (let i = 0; i < exits; i++) {
    state = afterExit(state, { startedAt: now, finishedAt: now + ranFor, requested: false });
    now += ranFor;
    delays.push(state!.retryAt - now);
    now = state!.retryAt;
  }
  return delays;
}

describe('afterExit', () => {
  it('replaces the first crash at once, then waits 1 s, 2 s, 4 s … doubling', () => {
    expect(delaysOf(8)).toEqual([0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000]);
  });

  it('caps the wait at 5 minutes, however long the crash loop', () => {
    const delays = delaysOf(40);
    expect(Math.max(...delays)).toBe(BACKOFF_MAX_MS);
    expect(delays.slice(-5)).toEqual(Array(5).fill(5 * 60_000));
  });

  it('counts the failures in a row', () => {
    let state: SlotBackoff | undefined;
    for (let i = 1; i <= 4; i++) {
      state = afterExit(state, { startedAt: T0, finishedAt: T0 + 10, requested: false });
      expect(state?.failures).toBe(i);
    }
  });

  it.each<[string, { startedAt?: number; finishedAt: number; requested: boolean }, boolean]>([
    [
      'an exit the factory asked for (a drain) clears it',
      { startedAt: T0, finishedAt: T0 + 10, requested: true },
      true,
    ],
    ['10 minutes up clears it', { startedAt: T0, finishedAt: T0 + BACKOFF_RESET_AFTER_MS, requested: false }, true],
    [
      'a moment short of the crash-loop window does not',
      { startedAt: T0, finishedAt: T0 + CRASH_LOOP_WINDOW_MS - 1, requested: false },
      false,
    ],
    ['an exit with no start time (never ran) does not', { finishedAt: T0, requested: false }, false],
  ])('%s', (_name, exit, cleared) => {
    const previous: SlotBackoff = { failures: 6, retryAt: T0 - 1 };
    const next = afterExit(previous, exit);
    if (cleared) expect(next).toBeUndefined();
    else expect(next).toEqual({ failures: 7, retryAt: exit.finishedAt + 32_000 });
  });

  it('replaces a container killed after 10 s up at once, however many crashes came before: it was not looping', () => {
    for (const ranFor of [CRASH_LOOP_WINDOW_MS, 5 * 60_000, BACKOFF_RESET_AFTER_MS - 1]) {
      const next = afterExit({ failures: 9, retryAt: 0 }, { startedAt: T0, finishedAt: T0 + ranFor, requested: false });
      expect(next).toEqual({ failures: 1, retryAt: T0 + ranFor });
    }
  });

  it('never starts a slot whose every start fails more than 10 times a minute, whatever each run lasts', () => {
    for (const ranFor of [0, 50, 1_000, 5_000, CRASH_LOOP_WINDOW_MS - 1, CRASH_LOOP_WINDOW_MS, 30_000]) {
      let state: SlotBackoff | undefined;
      let now = T0;
      const starts: number[] = [];
      while (now < T0 + 10 * 60_000) {
        starts.push(now);
        state = afterExit(state, { startedAt: now, finishedAt: now + ranFor, requested: false });
        now = Math.max(state!.retryAt, now + ranFor);
      }
      for (const start of starts)
        expect(starts.filter((t) => t >= start && t < start + 60_000).length).toBeLessThanOrEqual(10);
    }
  });

  it('starts from the first step again after a reset', () => {
    const long = afterExit(
      { failures: 9, retryAt: 0 },
      { startedAt: T0, finishedAt: T0 + BACKOFF_RESET_AFTER_MS, requested: false },
    );
    const next = afterExit(long, { startedAt: T0, finishedAt: T0 + 5, requested: false });
    expect(next).toEqual({ failures: 1, retryAt: T0 + 5 });
  });

  it('waits from the time the container finished, not from when the exit was noticed', () => {
    expect(afterExit({ failures: 1, retryAt: 0 }, { startedAt: 100, finishedAt: 200, requested: false })).toEqual({
      failures: 2,
      retryAt: 1_200,
    });
  });

  it('allows at most 10 starts per slot in the first minute of a crash loop', () => {
    // A slot image whose entrypoint exits at once: each container runs 100 ms, and is replaced when its backoff ends.
    let state: SlotBackoff | undefined;
    let now = 0;
    let starts = 0;
    while (now < 60_000) {
      starts++;
      state = afterExit(state, { startedAt: now, finishedAt: now + 100, requested: false });
      now = Math.max(now + 100, state!.retryAt);
    }
    expect(starts).toBeLessThanOrEqual(10);
    expect(starts).toBe(7); // at 0, 0.1, 1.2, 3.3, 7.4, 15.5 and 31.6 s; the next one is at 63.7 s
  });

  it('never backs off a pilot that ends cleanly after a minute up (idle limit, lifetime), however often', () => {
    let state: SlotBackoff | undefined = { failures: 4, retryAt: T0 };
    state = afterExit(state, { startedAt: T0, finishedAt: T0 + CLEAN_EXIT_MIN_RUN_MS, requested: false, clean: true });
    expect(state).toBeUndefined();
  });

  it('counts a clean exit that came too soon: an image that "succeeds" at once would otherwise loop', () => {
    const first = afterExit(undefined, { startedAt: T0, finishedAt: T0 + 100, requested: false, clean: true });
    const second = afterExit(first, { startedAt: T0 + 200, finishedAt: T0 + 300, requested: false, clean: true });
    expect(first).toEqual({ failures: 1, retryAt: T0 + 100 });
    expect(second).toEqual({ failures: 2, retryAt: T0 + 300 + 1000 });
  });

  it('keeps a failed exit after a minute up as a failure (a first one: replaced at once), unlike a clean one', () => {
    const state = afterExit(
      { failures: 3, retryAt: T0 },
      { startedAt: T0, finishedAt: T0 + CLEAN_EXIT_MIN_RUN_MS, requested: false, clean: false },
    );
    expect(state).toEqual({ failures: 1, retryAt: T0 + CLEAN_EXIT_MIN_RUN_MS });
  });
});
