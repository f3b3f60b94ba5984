import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TMP_PREFIX } from '../support/cleanup.js';
import { CentralManager, TRUST_DOMAIN } from '../support/central-manager.js';
import { type MountedSnapshots, mountCondorSnapshots, removeUnmounted } from '../support/condor-image.js';
import { realEngineAvailable } from '../support/engine.js';
import { writeFile } from 'node:fs/promises';
import {
  FactoryProcess,
  controlRequest,
  removeFactoryContainers,
  slotContainers,
  waitFor,
} from '../support/factory-process.js';

const engineUp = await realEngineAvailable('end to end on a real HTCondor pool');
const describePool = engineUp ? describe : describe.skip;

// One factory name per test: a SIGKILLed pilot's ad stays in the collector for a while, and must not count for the next.
const NAMES = {
  fill: 'dcvm-e2e-fill',
  drain: 'dcvm-e2e-drain',
  roll: 'dcvm-e2e-roll',
  follow: 'dcvm-e2e-follow',
  lifetime: 'dcvm-e2e-lifetime',
} as const;
const VERSION_A = '4.7.1.0';
const VERSION_B = '4.7.2.0';
/** The central manager runs from a snapshot of its own, so that snapshot A can be unmounted after the roll. */
const VERSION_CM = '4.7.0.0';

describePool('docker-cernvm end to end: factory slots in a real HTCondor pool', () => {
  let tmp: string;
  let condor: MountedSnapshots;
  let imageA: string;
  let imageB: string;
  let pool: CentralManager;
  let factory: FactoryProcess | undefined;
  const started = Date.now();

  beforeAll(async () => {
    condor = await mountCondorSnapshots([VERSION_A, VERSION_B, VERSION_CM]);
    imageA = condor.images.get(VERSION_A)!;
    imageB = condor.images.get(VERSION_B)!;
    tmp = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    pool = await CentralManager.start(condor.images.get(VERSION_CM)!, path.join(tmp, 'cm'));
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
    console.log(`end-to-end pool tests took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  /** The factory with real pilots: the HTCondor image mounted by docker-cernvm, joining the test pool. */
  function startFactory(name: string, slots: number | undefined, extra: readonly string[] = []): FactoryProcess {
    return new FactoryProcess([
      'start',
      '--name',
      name,
      ...(slots === undefined ? [] : ['--slots', String(slots)]),
      '--collector',
      pool.collector,
      '--trust-domain',
      TRUST_DOMAIN,
      '--token-file',
      pool.tokenFile,
      '--state-dir',
      path.join(tmp, 'state'),
      '--scratch-dir',
      path.join(tmp, 'scratch'),
      '--socket',
      path.join(tmp, `${name}.sock`),
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
  const socketPath = (name: string) => path.join(tmp, `${name}.sock`);

  const factorySlots = async (name: string) =>
    (await pool.slots(['Cpus', 'Memory', 'State', 'DockerCernvmFactory', 'DockerCernvmSlot', 'CernVMVersion'])).filter(
      (ad) => ad.DockerCernvmFactory === name,
    );

  const terminated = async (job: string) => (await pool.events(job)).filter((e) => e.code === '005');

  it('fills 4 slots that the collector shows with Cpus 1, and runs 12 jobs in them to completion', async () => {
    const fillStarted = Date.now();
    factory = startFactory(NAMES.fill, 4, ['--image', imageA]);
    const ads = await waitFor(
      async () => {
        const slots = await factorySlots(NAMES.fill);
        return slots.length === 4 ? slots : undefined;
      },
      120_000,
      'four slots in the collector',
    );
    console.log(`4 slots advertised in the collector ${((Date.now() - fillStarted) / 1000).toFixed(1)} s after start`);
    expect(ads.map((ad) => ad.DockerCernvmSlot).sort()).toEqual([0, 1, 2, 3]);
    expect(ads.every((ad) => ad.Cpus === 1 && ad.Memory === 512 && ad.CernVMVersion === VERSION_A)).toBe(true);

    await pool.submit({
      name: 'twelve',
      command: 'sleep 2; echo "ok $(hostname)"',
      count: 12,
      requirements: `DockerCernvmFactory == "${NAMES.fill}"`,
    });
    const done = await waitFor(
      async () => {
        const events = await terminated('twelve');
        return events.length === 12 ? events : undefined;
      },
      240_000,
      'twelve jobs to finish',
    );
    expect(done.every((e) => e.text.includes('return value 0'))).toBe(true);
    expect((await pool.events('twelve')).map((e) => e.code)).not.toContain('004');
    expect(await factorySlots(NAMES.fill)).toHaveLength(4);
  }, 420_000);

  it('drains mid-run on SIGUSR1: every running job completes without eviction, every slot exits 0, the factory exits 0', async () => {
    factory = startFactory(NAMES.drain, 4, ['--image', imageA, '--exit-when-drained']);
    await waitFor(
      async () => ((await factorySlots(NAMES.drain)).length === 4 ? true : undefined),
      120_000,
      'four slots',
    );
    await pool.submit({
      name: 'drained',
      command: 'sleep 25; echo done',
      count: 4,
      requirements: `DockerCernvmFactory == "${NAMES.drain}"`,
    });
    await waitFor(
      async () => ((await pool.events('drained')).filter((e) => e.code === '001').length === 4 ? true : undefined),
      180_000,
      'four jobs running',
    );

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
    expect(await slotContainers(NAMES.drain)).toEqual([]);
  }, 420_000);

  it('rolls to snapshot B after a config reload: A pilots finish their jobs, B pilots take over, none is evicted, A unmounts', async () => {
    const config = path.join(tmp, 'roll.yaml');
    await writeFile(config, `slots: 4\nimage: ${imageA}\n`);
    factory = startFactory(NAMES.roll, undefined, ['--config', config]);
    await waitFor(
      async () =>
        (await factorySlots(NAMES.roll)).filter((a) => a.CernVMVersion === VERSION_A).length === 4 ? true : undefined,
      120_000,
      'four A slots',
    );
    await pool.submit({
      name: 'rolled',
      command: 'sleep 20; echo done',
      count: 4,
      requirements: `DockerCernvmFactory == "${NAMES.roll}"`,
    });
    await waitFor(
      async () => ((await pool.events('rolled')).filter((e) => e.code === '001').length === 4 ? true : undefined),
      180_000,
      'four jobs running',
    );

    await writeFile(config, `slots: 4\nimage: ${imageB}\n`);
    const rollStarted = Date.now();
    factory.signal('SIGHUP');
    // Measure how long fewer than 4 slots took new jobs, polling the factory's own count of serving slots.
    let belowMs = 0;
    let last = Date.now();
    await waitFor(
      async () => {
        const status = (await controlRequest(socketPath(NAMES.roll), { command: 'status' })).result as {
          summary?: { running: number };
        };
        const now = Date.now();
        if ((status.summary?.running ?? 0) < 4) belowMs += now - last;
        last = now;
        const ads = await factorySlots(NAMES.roll);
        // Every A container gone, not merely stopped: one Docker is still removing holds A's layer in use.
        const containers = await slotContainers(NAMES.roll);
        const allRunning = containers.length === 4 && containers.every((c) => c.state === 'running');
        return ads.length === 4 && ads.every((a) => a.CernVMVersion === VERSION_B) && allRunning ? true : undefined;
      },
      240_000,
      'four B slots, and the A pilots gone',
    );
    console.log(
      `rolling upgrade: ${((Date.now() - rollStarted) / 1000).toFixed(1)} s to roll 4 busy slots; slots stood below the desired 4 for ${(belowMs / 1000).toFixed(1)} s`,
    );

    const events = await pool.events('rolled');
    expect(events.filter((e) => e.code === '005')).toHaveLength(4);
    expect(events.filter((e) => e.code === '001')).toHaveLength(4);
    expect(events.map((e) => e.code)).not.toContain('004');
    const containers = await slotContainers(NAMES.roll);
    expect(containers.filter((c) => c.state === 'running')).toHaveLength(4);
    expect(factory.logs().filter((l) => l.event === 'slot-draining' && l.reason === 'template')).toHaveLength(4);
    // Nothing uses A any more: it unmounts, while B stays bound and in use.
    await expect(condor.mounter.unmountImage(imageA)).resolves.toMatchObject({ unboundLayers: [expect.any(String)] });
  }, 480_000);

  it('follows the repository with --follow-snapshot: a newly published snapshot is mounted and the slots roll to it', async () => {
    const next = '4.7.3.0';
    factory = startFactory(NAMES.follow, 2, [
      '--image',
      imageB,
      '--follow-snapshot',
      '--follow-interval-seconds',
      '2',
      '--cvmfs-dir',
      condor.cvmfsDir,
    ]);
    await waitFor(
      async () =>
        (await factorySlots(NAMES.follow)).filter((a) => a.CernVMVersion === VERSION_B).length === 2 ? true : undefined,
      120_000,
      'two B slots',
    );
    await condor.publish(next);
    await waitFor(
      async () => {
        const ads = await factorySlots(NAMES.follow);
        return ads.length === 2 && ads.every((a) => a.CernVMVersion === next) ? true : undefined;
      },
      180_000,
      `two slots on ${next}`,
    );
    const followed = factory.logs().find((l) => l.event === 'snapshot-followed');
    expect(followed).toMatchObject({
      snapshot: `cernvm-system-${next}`,
      image: `docker-cernvm-test/condor:cernvm-system-${next}`,
    });
    expect(factory.logs().filter((l) => l.event === 'slot-draining' && l.reason === 'template')).toHaveLength(2);
  }, 360_000);

  it('refreshes a pilot after its maximum lifetime: it retires peacefully and the factory replaces it', async () => {
    const config = path.join(tmp, 'lifetime.yaml');
    await writeFile(config, `pilot:\n  maxLifetimeSeconds: 20\n  heartbeatSeconds: 2\n`);
    factory = startFactory(NAMES.lifetime, 1, ['--image', imageB, '--config', config]);
    const exited = await waitFor(
      async () => factory!.logs().find((l) => l.event === 'slot-exited'),
      120_000,
      'the pilot to retire',
    );
    expect(exited).toMatchObject({ code: 0, reason: 'clean', slot: 0 });
    await waitFor(
      async () => (factory!.logs().filter((l) => l.event === 'slot-started').length >= 2 ? true : undefined),
      60_000,
      'a replacement',
    );
    await waitFor(
      async () => ((await factorySlots(NAMES.lifetime)).length === 1 ? true : undefined),
      60_000,
      'the new pilot in the collector',
    );
  }, 240_000);
});
