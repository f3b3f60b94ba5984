import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CentralManager } from '../support/central-manager.js';
import { docker, execIn, realEngineAvailable } from '../support/engine.js';
import { slotContainers, waitFor } from '../support/factory-process.js';
import { SquashfuseMount, squashImage } from '../support/fuse-repository.js';
import { type SharedDir, sharedTempDir } from '../support/shared-dir.js';
import { TestPool } from '../support/test-pool.js';

const engineUp = await realEngineAvailable('slot health against a FUSE repository on a real HTCondor pool');
const describePool = engineUp ? describe : describe.skip;

const NAME = 'dcvm-e2e-health';
const REPOSITORY = 'exp.test.invalid';
const CHECK_SECONDS = 5;

describePool('slot health: a repository that fails the way CVMFS fails', () => {
  let testPool: TestPool | undefined;
  let tmp: string;
  let pool: CentralManager;
  let shared: SharedDir;
  let repository: SquashfuseMount;

  beforeAll(async () => {
    testPool = await TestPool.start([NAME]);
    ({ tmp, manager: pool } = testPool);
    // An experiment repository on FUSE under a /cvmfs the slots bind whole (rslave), as sites bind autofs' /cvmfs.
    const source = path.join(tmp, 'exp-source');
    await mkdir(path.join(source, 'etc'), { recursive: true });
    await writeFile(path.join(source, 'etc', 'release'), 'experiment software v1\n');
    await squashImage(source, path.join(tmp, 'exp.squashfs'));
    shared = await sharedTempDir();
    // The slots' /cvmfs: jobs and the health check (as the condor account) go through it, as through autofs' /cvmfs.
    await chmod(shared.dir, 0o755);
    repository = await SquashfuseMount.mount(path.join(tmp, 'exp.squashfs'), path.join(shared.dir, REPOSITORY));
  }, 600_000);

  afterAll(async () => {
    // The slots go first: they bind the repository's mount point.
    await testPool?.stopFactory();
    await repository?.unmount();
    await shared?.release();
    await testPool?.stop();
  });

  const slotAds = async () =>
    (
      await pool.slots(['DockerCernvmFactory', 'DockerCernvmSlot', 'State', 'CernvmHealthy', 'CernvmUnhealthyReason'])
    ).filter((ad) => ad.DockerCernvmFactory === NAME);

  /** What the slots see, for a failure: the check's verdict, a run of it as the condor account, /cvmfs. */
  async function showSlots(): Promise<void> {
    for (const slot of await slotContainers(NAME)) {
      const seen = await execIn(docker.getContainer(slot.id), [
        'sh',
        '-c',
        'cat /pilot/status/health; ls -la /cvmfs; su -s /bin/sh condor -c /pilot/health-check.sh; grep -i cron /var/log/condor/StartLog | tail -n 5',
      ]);
      console.log(`slot ${slot.slot}:\n${seen.output}`);
    }
    console.log(JSON.stringify(await slotAds()));
  }

  const allSlots = (predicate: (ad: Record<string, unknown>) => boolean, what: string, timeoutMs = 60_000) =>
    waitFor(
      async () => {
        const ads = await slotAds();
        return ads.length === 2 && ads.every(predicate) ? ads : undefined;
      },
      timeoutMs,
      what,
    ).catch(async (error: unknown) => {
      await showSlots();
      throw error;
    });

  it('takes slots out of matching when their repository dies, keeps their running job, and matches again once it is back', async () => {
    const config = path.join(tmp, 'health.yaml');
    await writeFile(config, `pilot:\n  healthCheckSeconds: ${CHECK_SECONDS}\n  heartbeatSeconds: 2\n`);
    testPool!.startFactory(NAME, 2, ['--config', config, '--mount', `${shared.dir}:/cvmfs`]);
    await allSlots((ad) => ad.CernvmHealthy === true, 'two healthy slots', 120_000);

    await pool.submit({
      name: 'running',
      command: 'cat /cvmfs/exp.test.invalid/etc/release; sleep 40; echo done',
      requirements: `DockerCernvmFactory == "${NAME}"`,
    });
    await waitFor(
      async () => ((await pool.events('running')).some((e) => e.code === '001') ? true : undefined),
      90_000,
      'the first job running',
    );
    const before = await slotContainers(NAME);

    // The client dies: every access to the repository now fails with ENOTCONN, inside the slots too.
    repository.kill();
    const killedAt = Date.now();
    const sick = await allSlots((ad) => ad.CernvmHealthy === false, 'two unhealthy slots', 4 * CHECK_SECONDS * 1000);
    const noticedSeconds = (Date.now() - killedAt) / 1000;
    console.log(`health: both slots unhealthy in the collector ${noticedSeconds.toFixed(1)} s after the FUSE kill`);
    expect(noticedSeconds).toBeLessThan(3 * CHECK_SECONDS);
    for (const ad of sick)
      expect(ad.CernvmUnhealthyReason).toBe(`repository /cvmfs/${REPOSITORY}: Transport endpoint is not connected`);

    await pool.submit({
      name: 'blocked',
      command: 'cat /cvmfs/exp.test.invalid/etc/release',
      requirements: `DockerCernvmFactory == "${NAME}"`,
    });
    // Three check periods and more: the idle slot does not take it.
    await new Promise((resolve) => setTimeout(resolve, 4 * CHECK_SECONDS * 1000));
    expect((await pool.events('blocked')).map((e) => e.code)).not.toContain('001');

    // The running job was not lost: it ends normally in the slot it started in, which the factory kept.
    await waitFor(
      async () => ((await pool.events('running')).some((e) => e.code === '005') ? true : undefined),
      90_000,
      'the first job to end',
    );
    const running = await pool.events('running');
    expect(running.find((e) => e.code === '005')?.text).toContain('return value 0');
    expect(running.map((e) => e.code)).not.toContain('004');
    expect(await pool.jobOutput('running')).toBe('experiment software v1\ndone\n');
    expect((await slotContainers(NAME)).map((c) => c.id).sort()).toEqual(before.map((c) => c.id).sort());

    // The client is back: the slots are healthy again and take the waiting job.
    await repository.remount();
    const remountedAt = Date.now();
    await allSlots((ad) => ad.CernvmHealthy === true, 'two healthy slots again', 4 * CHECK_SECONDS * 1000);
    console.log(
      `health: both slots healthy in the collector ${((Date.now() - remountedAt) / 1000).toFixed(1)} s after the remount`,
    );
    await waitFor(
      async () => ((await pool.events('blocked')).some((e) => e.code === '005') ? true : undefined),
      90_000,
      'the waiting job to run',
    );
    expect((await pool.events('blocked')).find((e) => e.code === '005')?.text).toContain('return value 0');
    expect(await pool.jobOutput('blocked')).toBe('experiment software v1\n');
  }, 480_000);
});
