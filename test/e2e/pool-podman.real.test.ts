import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LABELS } from '@docker-cernvm/factory';
import { TMP_PREFIX } from '../support/cleanup.js';
import { CentralManager, TRUST_DOMAIN } from '../support/central-manager.js';
import {
  CONDOR_REPOSITORY,
  type MountedSnapshots,
  mountCondorSnapshots,
  removeUnmounted,
} from '../support/condor-image.js';
import { docker, hostDocker, podmanSuiteRuns } from '../support/engine.js';
import { FactoryProcess, removeFactoryContainers, slotContainers, waitFor } from '../support/factory-process.js';

const SUITE = 'end to end on a real HTCondor pool with slots on podman';
const onPodman = await podmanSuiteRuns(SUITE, 'slots from a cernvm: root run on podman only');
if (onPodman) {
  // The central manager runs on the host's Docker beside podman: without it the suite cannot run.
  await hostDocker.ping().catch((error: unknown) => {
    throw new Error(`${SUITE}: the host's Docker engine (/var/run/docker.sock) does not answer`, { cause: error });
  });
}
const describePodman = onPodman ? describe : describe.skip;

// One factory name per test: a SIGKILLed pilot's ad stays in the collector for a while, and must not count for the next.
const NAMES = { fill: 'dcvm-e2e-podman-fill', drain: 'dcvm-e2e-podman-drain', roll: 'dcvm-e2e-podman-roll' } as const;
const VERSION_A = '4.7.1.0';
const VERSION_B = '4.7.2.0';
/** The central manager's own snapshot, mounted over a placeholder on the host's Docker as the Docker pool test does. */
const VERSION_CM = '4.7.0.0';

describePodman(SUITE, () => {
  let tmp: string;
  let condor: MountedSnapshots;
  let pool: CentralManager;
  let factory: FactoryProcess | undefined;
  const started = Date.now();

  /** Where the factory resolves `cernvm: {repository, snapshot}` to, under the stand-in /cvmfs. */
  const snapshotRoot = (version: string) =>
    path.join(condor.cvmfsDir, CONDOR_REPOSITORY, '.cvmfs', 'snapshots', `cernvm-system-${version}`, 'cvm4');

  beforeAll(async () => {
    condor = await mountCondorSnapshots([VERSION_CM], [hostDocker]);
    // The slots' snapshots are only published: podman runs them from their roots, no placeholder is mounted.
    await condor.publish(VERSION_A);
    await condor.publish(VERSION_B);
    tmp = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    pool = await CentralManager.start(condor.images.get(VERSION_CM)!, path.join(tmp, 'cm'), hostDocker);
    for (const name of Object.values(NAMES)) await removeFactoryContainers(name);
  }, 600_000);

  afterEach(async () => {
    factory?.signal('SIGKILL');
    await factory?.exit;
    factory = undefined;
    for (const name of Object.values(NAMES)) await removeFactoryContainers(name);
  });

  afterAll(async () => {
    await pool?.stop();
    for (const name of Object.values(NAMES)) await removeFactoryContainers(name);
    await condor?.release();
    if (tmp) await removeUnmounted(tmp);
    console.log(`end-to-end pool tests on podman took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  const configFile = (name: string) => path.join(tmp, `${name}.yaml`);
  const writeConfig = (name: string, slots: number, version: string) =>
    writeFile(
      configFile(name),
      [
        `slots: ${slots}`,
        `cernvm: { repository: ${CONDOR_REPOSITORY}, snapshot: cernvm-system-${version} }`,
        `cvmfsDir: ${condor.cvmfsDir}`,
        '',
      ].join('\n'),
    );

  /** The factory on podman (DOCKER_HOST) with real pilots from the file's `cernvm:` root, joining the test pool. */
  function startFactory(name: string, extra: readonly string[] = []): FactoryProcess {
    // prettier-ignore
    return new FactoryProcess([
      'start', '--name', name, '--config', configFile(name),
      '--collector', pool.collector, '--trust-domain', TRUST_DOMAIN, '--token-file', pool.tokenFile,
      '--state-dir', path.join(tmp, 'state'), '--scratch-dir', path.join(tmp, 'scratch'),
      '--socket', path.join(tmp, `${name}.sock`), '--listen', 'none', '--no-pin', '--memory-mb', '512',
      '--log-format', 'json', ...extra,
    ]);
  }

  const factorySlots = async (name: string) =>
    (await pool.slots(['Cpus', 'Memory', 'State', 'DockerCernvmFactory', 'DockerCernvmSlot', 'CernVMVersion'])).filter(
      (ad) => ad.DockerCernvmFactory === name,
    );

  /** Waits for `count` ads of the factory's slots on `version`, showing the factory's last lines when they never come. */
  const slotAds = (name: string, count: number, version: string) =>
    waitFor(
      async () => {
        const ads = await factorySlots(name);
        return ads.length === count && ads.every((a) => a.CernVMVersion === version) ? ads : undefined;
      },
      120_000,
      `${count} slots on ${version} in the collector`,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}; the factory's last lines:\n${factory?.output.slice(-3000)}`);
    });

  const rootsOf = async (name: string) =>
    Promise.all(
      (await slotContainers(name)).map(
        async (c) => (await docker.getContainer(c.id).inspect()).Config.Labels[LABELS.rootfs],
      ),
    );

  /** The factory's 2 slots on snapshot A, each running one 15-s job of `job`. */
  async function busySlots(name: string, job: string, extra: readonly string[] = []): Promise<FactoryProcess> {
    await writeConfig(name, 2, VERSION_A);
    const started = startFactory(name, extra);
    factory = started;
    await slotAds(name, 2, VERSION_A);
    await pool.submit({
      name: job,
      command: 'sleep 15; echo done',
      count: 2,
      requirements: `DockerCernvmFactory == "${name}"`,
    });
    await waitFor(
      async () => ((await pool.events(job)).filter((e) => e.code === '001').length === 2 ? true : undefined),
      120_000,
      '2 jobs running',
    );
    return started;
  }

  /** Each of the 2 jobs started once and terminated once, none evicted. */
  async function expectEachJobOnce(job: string): Promise<void> {
    const events = await pool.events(job);
    expect(events.filter((e) => e.code === '005')).toHaveLength(2);
    expect(events.filter((e) => e.code === '001')).toHaveLength(2);
    expect(events.map((e) => e.code)).not.toContain('004');
  }

  it('fills 4 podman slots on a CernVM root that the collector shows with Cpus 1, and runs 8 jobs to completion', async () => {
    await writeConfig(NAMES.fill, 4, VERSION_A);
    const fillStarted = Date.now();
    factory = startFactory(NAMES.fill);
    const ads = await slotAds(NAMES.fill, 4, VERSION_A);
    console.log(
      `4 podman slots advertised in the collector ${((Date.now() - fillStarted) / 1000).toFixed(1)} s after start`,
    );
    expect(ads.map((ad) => ad.DockerCernvmSlot).sort()).toEqual([0, 1, 2, 3]);
    expect(ads.every((ad) => ad.Cpus === 1 && ad.Memory === 512)).toBe(true);
    expect(await rootsOf(NAMES.fill)).toEqual(Array(4).fill(snapshotRoot(VERSION_A)));

    await pool.submit({
      name: 'podman-eight',
      command: 'sleep 2; echo "ok $(hostname)"',
      count: 8,
      requirements: `DockerCernvmFactory == "${NAMES.fill}"`,
    });
    const done = await waitFor(
      async () => {
        const events = (await pool.events('podman-eight')).filter((e) => e.code === '005');
        return events.length === 8 ? events : undefined;
      },
      180_000,
      'eight jobs to finish',
    );
    expect(done.every((e) => e.text.includes('return value 0'))).toBe(true);
    expect((await pool.events('podman-eight')).map((e) => e.code)).not.toContain('004');
    expect(await factorySlots(NAMES.fill)).toHaveLength(4);
  }, 300_000);

  it('drains mid-job on SIGUSR1: each running job completes once, without eviction, and the factory exits 0', async () => {
    const busy = await busySlots(NAMES.drain, 'podman-drained', ['--exit-when-drained']);
    busy.signal('SIGUSR1');
    const { code } = await busy.exitWithin(120_000);
    expect(code).toBe(0);
    await expectEachJobOnce('podman-drained');
    const exits = busy.logs().filter((l) => l.event === 'slot-exited');
    expect(exits).toHaveLength(2);
    expect(exits.every((l) => l.code === 0 && l.reason === 'drained')).toBe(true);
    expect(await slotContainers(NAMES.drain)).toEqual([]);
  }, 300_000);

  it('rolls from snapshot A to B on a reload: the running jobs finish, the new slots run from B and none is evicted', async () => {
    const busy = await busySlots(NAMES.roll, 'podman-rolled');

    await writeConfig(NAMES.roll, 2, VERSION_B);
    const rollStarted = Date.now();
    busy.signal('SIGHUP');
    await slotAds(NAMES.roll, 2, VERSION_B);
    // Every A container gone, not merely stopped, and both B slots running from B's root.
    await waitFor(
      async () => {
        const containers = await slotContainers(NAMES.roll);
        return containers.length === 2 && containers.every((c) => c.state === 'running') ? true : undefined;
      },
      60_000,
      'two running slots and no A slot left',
    );
    console.log(`rolling upgrade on podman: ${((Date.now() - rollStarted) / 1000).toFixed(1)} s to roll 2 busy slots`);

    expect(await rootsOf(NAMES.roll)).toEqual([snapshotRoot(VERSION_B), snapshotRoot(VERSION_B)]);
    await expectEachJobOnce('podman-rolled');
    expect(busy.logs().filter((l) => l.event === 'slot-draining' && l.reason === 'template')).toHaveLength(2);
    expect(busy.logs().filter((l) => l.event === 'action-failed')).toEqual([]);
  }, 300_000);
});
