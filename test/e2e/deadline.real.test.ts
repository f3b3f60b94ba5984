import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CentralManager } from '../support/central-manager.js';
import { docker, execIn, realEngineAvailable } from '../support/engine.js';
import { type FactoryProcess, slotContainers, waitFor } from '../support/factory-process.js';
import { TestPool } from '../support/test-pool.js';

const engineUp = await realEngineAvailable('a drain with a deadline on a real HTCondor pool');
const describePool = engineUp ? describe : describe.skip;

const NAME = 'dcvm-e2e-deadline';
const DEADLINE_SECONDS = 30;
// The soft kill comes this long before the deadline: short, so the 8 s job ends well before it.
const VACATE_SECONDS = 5;

describePool('a drain with a deadline on a real HTCondor pool', () => {
  let testPool: TestPool | undefined;
  let tmp: string;
  let pool: CentralManager;
  let factory: FactoryProcess | undefined;

  beforeAll(async () => {
    testPool = await TestPool.start([NAME]);
    ({ tmp, manager: pool } = testPool);
  }, 600_000);

  afterAll(async () => {
    await testPool?.stop();
  });

  const slotAds = async () =>
    (await pool.slots(['State', 'DockerCernvmFactory', 'CernvmDeadline'])).filter(
      (ad) => ad.DockerCernvmFactory === NAME,
    );
  const started = async (job: string) => (await pool.events(job)).filter((e) => e.code === '001').length;

  it('vacates the long job at the deadline (back in the queue, idle, one start), lets the short one finish, and exits 0', async () => {
    const config = path.join(tmp, 'factory.yaml');
    await writeFile(config, `pilot:\n  vacateSeconds: ${VACATE_SECONDS}\n`);
    factory = testPool!.startFactory(NAME, 2, [
      ...['--config', config, '--exit-when-drained', '--drain-deadline-seconds', String(DEADLINE_SECONDS)],
    ]);
    await waitFor(async () => ((await slotAds()).length === 2 ? true : undefined), 120_000, 'two slots');
    expect((await slotAds()).every((ad) => ad.CernvmDeadline === undefined)).toBe(true);

    const requirements = `DockerCernvmFactory == "${NAME}"`;
    const longCluster = await pool.submit({ name: 'long', command: 'sleep 600', requirements });
    await pool.submit({ name: 'short', command: 'sleep 8; echo done', requirements });
    await waitFor(
      async () => ((await started('long')) === 1 && (await started('short')) === 1 ? true : undefined),
      180_000,
      'both jobs running',
    );

    factory.signal('SIGUSR1');
    const drained = await waitFor(
      async () => factory!.logs().find((l) => l.event === 'factory-draining'),
      10_000,
      'the drain',
    );
    const deadlineMs = Date.parse(String(drained.deadline));
    expect(deadlineMs).toBeGreaterThan(Date.now());

    // The running startds were told of the deadline: the busy slot advertises it while its job runs.
    const ad = await waitFor(
      async () => (await slotAds()).find((a) => a.CernvmDeadline !== undefined),
      DEADLINE_SECONDS * 1000,
      'a slot advertising CernvmDeadline',
    );
    expect(ad.CernvmDeadline).toBe(Math.round(deadlineMs / 1000));

    // The last container's end, looked for every 250 ms; what the pilots and startds said when it does not come.
    let goneAt = 0;
    const diagnose = async () => {
      for (const c of await slotContainers(NAME)) {
        const container = docker.getContainer(c.id);
        const logs = (await container.logs({ stdout: true, stderr: true, tail: 30 })).toString('utf8');
        const startLog = await execIn(container, [
          'sh',
          '-c',
          'tail -n 40 /var/log/condor/StartLog; echo MasterLog:; tail -n 30 /var/log/condor/MasterLog',
        ]).catch((error: Error) => ({ output: error.message }));
        console.log(`slot ${c.slot} (${c.state}):\n${logs}\nStartLog:\n${startLog.output}`);
      }
      console.log(`long job events:\n${(await pool.events('long')).map((e) => e.text).join('\n')}`);
    };
    const deadlinePassed = setTimeout(() => void diagnose().catch(() => undefined), deadlineMs - Date.now() + 15_000);
    await waitFor(
      async () => {
        if ((await slotContainers(NAME)).length > 0) return undefined;
        goneAt = Date.now();
        return true;
      },
      DEADLINE_SECONDS * 1000 + 120_000,
      'every slot container gone',
      250,
    ).finally(() => clearTimeout(deadlinePassed));
    const { code } = await factory.exitWithin(30_000);
    const exitedAt = Date.now();
    console.log(
      `drain with a ${DEADLINE_SECONDS} s deadline: the last container was gone ${((goneAt - deadlineMs) / 1000).toFixed(1)} s after the deadline, the factory exited ${((exitedAt - deadlineMs) / 1000).toFixed(1)} s after it`,
    );
    expect(code).toBe(0);
    expect(goneAt).toBeGreaterThanOrEqual(deadlineMs - (VACATE_SECONDS + 1) * 1000);
    // The cores are free at the deadline: the hard kill comes then, the container's end a few seconds later.
    expect(goneAt).toBeLessThan(deadlineMs + 20_000);

    const short = (await pool.events('short')).map((e) => e.code);
    expect(short.filter((c) => c === '005')).toHaveLength(1);
    expect(short.filter((c) => c === '001')).toHaveLength(1);
    expect(short).not.toContain('004');

    const long = (await pool.events('long')).map((e) => e.code);
    expect(long).toContain('004');
    expect(long).not.toContain('005');
    expect(long).not.toContain('012');
    expect(long).not.toContain('009');
    const queued = await pool.exec(
      ['condor_q', String(longCluster), '-af', 'JobStatus', 'NumJobStarts', 'JobRunCount'],
      'tester',
    );
    console.log(`long job: JobStatus NumJobStarts JobRunCount = ${queued.output.trim()}`);
    // JobStatus 1: idle, back in the queue (not held: 5, not removed: 3).
    expect(queued.output.trim()).toBe('1 1 1');
    const exits = factory.logs().filter((l) => l.event === 'slot-exited');
    expect(exits.map((l) => [l.code, l.reason])).toEqual([
      [0, 'drained'],
      [0, 'drained'],
    ]);
  }, 480_000);
});
