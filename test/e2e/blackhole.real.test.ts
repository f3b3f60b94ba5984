import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CentralManager } from '../support/central-manager.js';
import { docker, execIn, realEngineAvailable } from '../support/engine.js';
import { type FactoryProcess, slotContainers, waitFor } from '../support/factory-process.js';
import { TestPool } from '../support/test-pool.js';

const engineUp = await realEngineAvailable('the black-hole guard on a real HTCondor pool');
const describePool = engineUp ? describe : describe.skip;

const NAME = 'dcvm-e2e-blackhole';

describePool('the black-hole guard: a slot whose jobs all fail at once', () => {
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

  it('reads each job end from the starter, drains the slot after three quick failures and replaces it', async () => {
    const config = path.join(tmp, 'blackhole.yaml');
    await writeFile(config, 'blackholeJobs: 3\nblackholeSeconds: 30\npilot:\n  heartbeatSeconds: 2\n');
    factory = testPool!.startFactory(NAME, 1, ['--config', config]);
    const [first] = await waitFor(
      async () => {
        const ads = (await pool.slots(['DockerCernvmFactory'])).filter((ad) => ad.DockerCernvmFactory === NAME);
        const slots = await slotContainers(NAME);
        return ads.length === 1 && slots.length === 1 ? slots : undefined;
      },
      120_000,
      'one slot in the collector',
    );

    await pool.submit({
      name: 'failing',
      command: 'echo broken >&2; exit 1',
      requirements: `DockerCernvmFactory == "${NAME}"`,
      count: 3,
    });
    const ends = await waitFor(
      async () => {
        const done = (await pool.events('failing')).filter((e) => e.code === '005');
        return done.length === 3 ? done : undefined;
      },
      180_000,
      'three failed jobs',
    );
    for (const end of ends) expect(end.text).toContain('return value 1');

    const draining = await waitFor(
      async () => factory?.logs().find((l) => l.event === 'slot-draining' && l.reason === 'blackhole'),
      30_000,
      'the black hole drained',
    ).catch(async (error: unknown) => {
      const slot = (await slotContainers(NAME))[0];
      if (slot) {
        const seen = await execIn(docker.getContainer(slot.id), [
          'sh',
          '-c',
          'cat /pilot/status/heartbeat.json; ls /var/log/condor; tail -n 20 /var/log/condor/StarterLog',
        ]);
        console.log(seen.output);
      }
      throw error;
    });
    expect(draining.slot).toBe(0);
    const heartbeat = await execIn(docker.getContainer(first!.id), ['cat', '/pilot/status/heartbeat.json']).catch(
      () => undefined,
    );
    if (heartbeat?.exitCode === 0) console.log(`blackhole: the drained slot's heartbeat: ${heartbeat.output.trim()}`);

    // A new pilot takes the slot's place; the drained one is gone.
    await waitFor(
      async () => {
        const slots = await slotContainers(NAME);
        return slots.length === 1 && slots[0]!.id !== first!.id ? slots : undefined;
      },
      120_000,
      'a new pilot in place of the black hole',
    );
    expect(factory.logs().filter((l) => l.event === 'slot-draining' && l.reason === 'blackhole')).toHaveLength(1);
  }, 480_000);
});
