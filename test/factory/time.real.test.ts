import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TMP_PREFIX } from '../support/cleanup.js';
import { realEngineAvailable } from '../support/engine.js';
import {
  type FactoryProcess,
  type TestFactorySetup,
  removeFactoryContainers,
  slotContainers,
  startTestFactory,
  waitFor,
} from '../support/factory-process.js';
import { SLOT_IMAGE, buildSlotImage } from '../support/slot-image.js';

const engineUp = await realEngineAvailable('schedules and the host shutdown time on the real engine');
const describeEngine = engineUp ? describe : describe.skip;

const NAME = 'dcvm-test-time';
const hhmm = (t: number) => new Date(t).toISOString().slice(11, 16);

describeEngine('a factory following the clock and the host on a real Docker engine', () => {
  let setup: TestFactorySetup;
  let factory: FactoryProcess | undefined;

  beforeAll(async () => {
    await buildSlotImage();
    const dir = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    setup = { name: NAME, dir, tokenFile: path.join(dir, 'pool.token'), image: SLOT_IMAGE };
    await writeFile(setup.tokenFile, 'stand-in\n', { mode: 0o600 });
    await removeFactoryContainers(NAME);
  });

  afterEach(async () => {
    factory?.signal('SIGKILL');
    await factory?.exit;
    factory = undefined;
    await removeFactoryContainers(NAME);
    await rm(path.join(setup.dir, 'state'), { recursive: true, force: true });
  });

  afterAll(async () => {
    if (setup) await rm(setup.dir, { recursive: true, force: true });
  });

  const running = async () => (await slotContainers(NAME)).filter((c) => c.state === 'running').length;
  const runningCount = (n: number, ms = 60_000) =>
    waitFor(async () => ((await running()) === n ? true : undefined), ms, `${n} running`);

  it('scales down when a window starts and back up when it ends', async () => {
    // A window from the start of the minute after next, a minute long: at least a minute away, so the factory
    // starts outside it whatever second this is.
    const startAt = Math.floor(Date.now() / 60_000) * 60_000 + 120_000;
    const endAt = startAt + 60_000;
    const config = path.join(setup.dir, 'schedule.yaml');
    await writeFile(
      config,
      [
        'slots: 2',
        'schedule:',
        '  timeZone: UTC',
        '  leadSeconds: 0',
        '  windows:',
        `    - { days: mon-sun, from: "${hhmm(startAt)}", to: "${hhmm(endAt)}", slots: 1 }`,
        '',
      ].join('\n'),
    );

    factory = startTestFactory(setup, undefined, ['--config', config]);
    await runningCount(2, 30_000);
    await runningCount(1, 150_000);
    await runningCount(2, 90_000);
    const applied = factory.logs().filter((l) => l.event === 'schedule-applied');
    expect(applied.map((l) => [l.slots, l.next])).toEqual([
      [1, new Date(endAt).toISOString()],
      [2, expect.any(String)],
    ]);
    // Each at its boundary, not before it, and soon after (the factory's timer, not a resync).
    const times = applied.map((l) => Date.parse(String(l.time)));
    expect(times[0]! - startAt).toBeGreaterThanOrEqual(0);
    expect(times[0]! - startAt).toBeLessThan(2_000);
    expect(times[1]! - endAt).toBeGreaterThanOrEqual(0);
    expect(times[1]! - endAt).toBeLessThan(2_000);
  }, 300_000);

  it('drains when $MACHINEFEATURES/shutdowntime appears, keeps draining through bad content, resumes when it goes', async () => {
    const features = path.join(setup.dir, 'machinefeatures');
    const shutdownTime = path.join(features, 'shutdowntime');
    const config = path.join(setup.dir, 'factory.yaml');
    await writeFile(config, 'environment:\n  SLOT_DRAIN_SECONDS: "2"\n');
    await rm(features, { recursive: true, force: true });
    await mkdir(features);
    /** As a host's tools write it: a new file renamed into place. */
    const announce = async (text: string) => {
      await writeFile(`${shutdownTime}.new`, text);
      await rename(`${shutdownTime}.new`, shutdownTime);
    };
    const logged = (event: string) =>
      waitFor(async () => factory!.logs().find((l) => l.event === event), 30_000, `a ${event} line`);

    factory = startTestFactory(setup, 2, ['--config', config], { MACHINEFEATURES: features });
    await runningCount(2);

    const shutdownAt = Math.floor(Date.now() / 1000) + 600;
    await announce(`${shutdownAt}\n`);
    expect(await logged('shutdown-time-draining')).toMatchObject({
      deadline: new Date(shutdownAt * 1000).toISOString(),
    });
    await runningCount(0);
    // The engine lists the containers gone a moment before the factory has logged their exits.
    const exits = await waitFor(
      async () => {
        const lines = factory!.logs().filter((l) => l.event === 'slot-exited');
        return lines.length >= 2 ? lines : undefined;
      },
      30_000,
      'both slot-exited lines',
    );
    expect(exits.map((l) => [l.code, l.reason])).toEqual([
      [0, 'drained'],
      [0, 'drained'],
    ]);

    await announce('tomorrow morning\n');
    expect(await logged('shutdown-time-unusable')).toMatchObject({ level: 'warn', file: shutdownTime });
    expect(await running()).toBe(0);

    await rm(shutdownTime);
    await logged('shutdown-time-withdrawn');
    await runningCount(2);
    const withdrawnAt = factory.logs().findIndex((l) => l.event === 'shutdown-time-withdrawn');
    expect(factory.logs().findIndex((l) => l.event === 'shutdown-time-unusable')).toBeLessThan(withdrawnAt);
  }, 120_000);
});
