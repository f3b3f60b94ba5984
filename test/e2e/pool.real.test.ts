import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TMP_PREFIX } from '../support/cleanup.js';
import { CentralManager, TRUST_DOMAIN } from '../support/central-manager.js';
import { type MountedCondorImage, mountCondorImage, removeUnmounted } from '../support/condor-image.js';
import { realEngineAvailable } from '../support/engine.js';
import { FactoryProcess, removeFactoryContainers, slotContainers, waitFor } from '../support/factory-process.js';

const engineUp = await realEngineAvailable('end to end on a real HTCondor pool');
const describePool = engineUp ? describe : describe.skip;

const NAME = 'dcvm-test-e2e';

describePool('docker-cernvm end to end: factory slots in a real HTCondor pool', () => {
  let tmp: string;
  let condor: MountedCondorImage;
  let pool: CentralManager;
  let factory: FactoryProcess | undefined;
  const started = Date.now();

  beforeAll(async () => {
    condor = await mountCondorImage();
    tmp = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    pool = await CentralManager.start(condor.image, path.join(tmp, 'cm'));
    await removeFactoryContainers(NAME);
  }, 600_000);

  afterEach(async () => {
    factory?.signal('SIGKILL');
    await factory?.exit;
    factory = undefined;
    await removeFactoryContainers(NAME);
  });

  afterAll(async () => {
    await pool?.stop();
    await removeFactoryContainers(NAME);
    await condor?.release();
    if (tmp) await removeUnmounted(tmp);
    console.log(`end-to-end pool tests took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  /** The factory with real pilots: the HTCondor image mounted by docker-cernvm, joining the test pool. */
  function startFactory(slots: number, extra: readonly string[] = []): FactoryProcess {
    return new FactoryProcess([
      'start',
      '--name',
      NAME,
      '--slots',
      String(slots),
      '--image',
      condor.image,
      '--collector',
      pool.collector,
      '--trust-domain',
      TRUST_DOMAIN,
      '--token-file',
      pool.tokenFile,
      '--state-dir',
      path.join(tmp, 'state'),
      '--socket',
      path.join(tmp, `${NAME}.sock`),
      '--listen',
      'none',
      '--no-pin',
      '--memory-mb',
      '512',
      '--log-format',
      'json',
      ...extra,
    ]);
  }

  const factorySlots = async () =>
    (await pool.slots(['Cpus', 'Memory', 'State', 'DockerCernvmFactory', 'DockerCernvmSlot'])).filter(
      (ad) => ad.DockerCernvmFactory === NAME,
    );

  const terminated = async (job: string) => (await pool.events(job)).filter((e) => e.code === '005');

  it('fills 4 slots that the collector shows with Cpus 1, and runs 12 jobs in them to completion', async () => {
    factory = startFactory(4);
    const ads = await waitFor(async () => {
      const slots = await factorySlots();
      return slots.length === 4 ? slots : undefined;
    }, 120_000, 'four slots in the collector');
    expect(ads.map((ad) => ad.DockerCernvmSlot).sort()).toEqual([0, 1, 2, 3]);
    expect(ads.every((ad) => ad.Cpus === 1 && ad.Memory === 512)).toBe(true);

    await pool.submit({ name: 'twelve', command: 'sleep 2; echo "ok $(hostname)"', count: 12, requirements: `DockerCernvmFactory == "${NAME}"` });
    const done = await waitFor(async () => {
      const events = await terminated('twelve');
      return events.length === 12 ? events : undefined;
    }, 240_000, 'twelve jobs to finish');
    expect(done.every((e) => e.text.includes('return value 0'))).toBe(true);
    expect((await pool.events('twelve')).map((e) => e.code)).not.toContain('004');
    expect(await factorySlots()).toHaveLength(4);
  }, 420_000);

  it('drains mid-run on SIGUSR1: every running job completes without eviction, every slot exits 0, the factory exits 0', async () => {
    factory = startFactory(4, ['--exit-when-drained']);
    await waitFor(async () => ((await factorySlots()).length === 4 ? true : undefined), 120_000, 'four slots');
    await pool.submit({ name: 'drained', command: 'sleep 25; echo done', count: 4, requirements: `DockerCernvmFactory == "${NAME}"` });
    await waitFor(async () => ((await pool.events('drained')).filter((e) => e.code === '001').length === 4 ? true : undefined), 180_000, 'four jobs running');

    factory.signal('SIGUSR1');
    const { code } = await factory.exit;
    expect(code).toBe(0);
    const events = await pool.events('drained');
    expect(events.filter((e) => e.code === '005')).toHaveLength(4);
    expect(events.filter((e) => e.code === '001')).toHaveLength(4);
    expect(events.map((e) => e.code)).not.toContain('004');
    const exits = factory.logs().filter((l) => l.event === 'slot-exited');
    expect(exits).toHaveLength(4);
    expect(exits.every((l) => l.code === 0 && l.reason === 'drained')).toBe(true);
    expect(factory.logs().filter((l) => l.event === 'slot-started')).toHaveLength(4);
    expect(await slotContainers(NAME)).toEqual([]);
  }, 420_000);
});
