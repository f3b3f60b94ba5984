import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ShutdownTimeWatcher, parseShutdownTime, shutdownTimeFileReader } from './shutdown-time-watcher.js';
import { FakeClock } from './testing/fake-clock.js';

describe('parseShutdownTime', () => {
  it.each([
    ['1796032800\n', 1_796_032_800_000],
    ['  1796032800  ', 1_796_032_800_000],
    ['0', 0],
    ['', undefined],
    ['1796032800.5', undefined],
    ['-1', undefined],
    ['2026-12-07T08:00', undefined],
    ['1796032800 1796032900', undefined],
  ])('%j → %j', (text, expected) => {
    expect(parseShutdownTime(text)).toBe(expected);
  });
});

/** A watcher over text a test sets (undefined: no file; an Error: unreadable), polled every second. */
function watched() {
  const clock = new FakeClock();
  let content: string | undefined | Error;
  const changes: (number | undefined)[] = [];
  const warnings: string[] = [];
  const watcher = new ShutdownTimeWatcher({
    clock,
    read: () => (content instanceof Error ? Promise.reject(content) : Promise.resolve(content)),
    pollMs: 1000,
    onChange: (at) => changes.push(at),
    onWarning: (message) => warnings.push(message),
  });
  return { clock, watcher, changes, warnings, set: (next: string | undefined | Error) => (content = next) };
}

describe('ShutdownTimeWatcher', () => {
  it('reports a shutdown time already there at start, each new time, and its withdrawal', async () => {
    const { clock, watcher, changes, set } = watched();
    set('1000\n');
    await watcher.start();
    expect(changes).toEqual([1_000_000]);
    await clock.advance(1000);
    expect(changes).toEqual([1_000_000]); // the same time is no news
    set('2000');
    await clock.advance(1000);
    set(undefined);
    await clock.advance(1000);
    expect(changes).toEqual([1_000_000, 2_000_000, undefined]);
    watcher.stop();
    expect(clock.pending).toBe(0);
  });

  it('says nothing when there never was a file', async () => {
    const { clock, watcher, changes, warnings } = watched();
    await watcher.start();
    await clock.advance(5000);
    expect(changes).toEqual([]);
    expect(warnings).toEqual([]);
    watcher.stop();
  });

  it('keeps the time it had through bad content and read errors, warning once for each new problem', async () => {
    const { clock, watcher, changes, warnings, set } = watched();
    set('1000');
    await watcher.start();
    set('tomorrow');
    await clock.advance(3000);
    set(new Error('EACCES: permission denied'));
    await clock.advance(2000);
    expect(changes).toEqual([1_000_000]);
    expect(warnings).toEqual([
      'the shutdown time is not a Unix time in seconds: "tomorrow"',
      'cannot read the shutdown time: EACCES: permission denied',
    ]);
    set('1000');
    await clock.advance(1000);
    set('tomorrow');
    await clock.advance(1000);
    expect(warnings).toHaveLength(3); // the same problem again after a good read is news again
    expect(changes).toEqual([1_000_000]);
    watcher.stop();
  });
});

describe('shutdownTimeFileReader', () => {
  it('reads a file renamed into place and answers undefined once it is gone', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'shutdowntime-'));
    try {
      const file = path.join(dir, 'shutdowntime');
      const read = shutdownTimeFileReader(file);
      expect(await read()).toBeUndefined();
      await writeFile(path.join(dir, '.shutdowntime.new'), '1796032800\n');
      await rename(path.join(dir, '.shutdowntime.new'), file);
      expect(await read()).toBe('1796032800\n');
      await rm(file);
      expect(await read()).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
