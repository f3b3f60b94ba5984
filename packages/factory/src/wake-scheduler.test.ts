import { beforeEach, describe, expect, it } from '@jest/globals';
import { FakeClock, settle } from './testing/fake-clock.js';
import { WakeScheduler } from './wake-scheduler.js';

const DEBOUNCE = 25;
const RESYNC = 30_000;

let clock: FakeClock;
let passes: number[];
let errors: string[];
/** When set, each pass waits for it: a pass caught half-way. */
let hold: Promise<void> | undefined;
let failNext: boolean;

function scheduler(): WakeScheduler {
  return new WakeScheduler({
    clock,
    pass: async () => {
      passes.push(clock.now());
      if (hold) await hold;
      if (failNext) {
        failNext = false;
        throw new Error('engine restarting');
      }
    },
    onError: (error) => errors.push(error.message),
    debounceMs: DEBOUNCE,
    resyncMs: RESYNC,
  });
}

beforeEach(() => {
  clock = new FakeClock(0);
  passes = [];
  errors = [];
  hold = undefined;
  failNext = false;
});

describe('WakeScheduler: requests', () => {
  it('folds the requests within one debounce into one pass', async () => {
    const wake = scheduler();
    wake.request();
    await clock.advance(10);
    wake.request();
    await clock.advance(DEBOUNCE);
    expect(passes).toEqual([DEBOUNCE]);
  });

  it('moves the wake-up earlier for a request due sooner, and never later', async () => {
    const wake = scheduler();
    wake.request(1_000);
    wake.request(0);
    wake.request(500);
    await clock.advance(2_000);
    expect(passes).toEqual([0]);
  });

  it('runs one more pass, not one per request, for the requests that came while a pass ran', async () => {
    const wake = scheduler();
    let release!: () => void;
    hold = new Promise<void>((resolve) => (release = resolve));
    wake.request(0);
    await clock.advance(0);
    for (const delay of [0, 10, 20]) {
      wake.request(0);
      await clock.advance(delay);
    }
    expect(passes).toEqual([0]);
    hold = undefined;
    release();
    await settle();
    expect(passes).toEqual([0, 30]);
  });

  it('reports a pass that throws, and passes again at the next request', async () => {
    const wake = scheduler();
    failNext = true;
    wake.request();
    await clock.advance(DEBOUNCE);
    expect(errors).toEqual(['engine restarting']);
    wake.request();
    await clock.advance(DEBOUNCE);
    expect(passes).toEqual([DEBOUNCE, 2 * DEBOUNCE]);
  });
});

describe('WakeScheduler: timers', () => {
  it('passes at every resync once started', async () => {
    const wake = scheduler();
    wake.startResync();
    await clock.advance(RESYNC * 3);
    expect(passes).toEqual([RESYNC, 2 * RESYNC, 3 * RESYNC]);
  });

  it('wakes just after the first retry time still to come, and only the last call’s times count', async () => {
    const wake = scheduler();
    wake.wakeAtNextRetry([1_000, 5_000], 0);
    wake.wakeAtNextRetry([-10, 3_000, 2_000], 0);
    await clock.advance(10_000);
    expect(passes).toEqual([2_005]);
  });

  it('sets no timer when no retry is still to come', () => {
    const wake = scheduler();
    wake.wakeAtNextRetry([0, 100], 100);
    expect(clock.pending).toBe(0);
  });
});

describe('WakeScheduler: close', () => {
  it('leaves no timer behind, and passes no more', async () => {
    const wake = scheduler();
    wake.startResync();
    wake.request();
    wake.wakeAtNextRetry([1_000], 0);
    wake.close();
    expect(clock.pending).toBe(0);
    wake.request(0);
    wake.startResync();
    wake.wakeAtNextRetry([2_000], 0);
    expect(clock.pending).toBe(0);
    await clock.advance(RESYNC * 2);
    expect(passes).toEqual([]);
  });

  it('lets the pass under way finish, without the one more asked for meanwhile', async () => {
    const wake = scheduler();
    let release!: () => void;
    hold = new Promise<void>((resolve) => (release = resolve));
    wake.request(0);
    await clock.advance(0);
    wake.request(0);
    await clock.advance(0);
    wake.close();
    release();
    await settle();
    expect(passes).toEqual([0]);
  });
});
