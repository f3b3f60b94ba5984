import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TMP_PREFIX } from '../support/cleanup.js';
import { waitConverged } from '../support/converged.js';
import { realEngineAvailable } from '../support/engine.js';
import {
  type FactoryProcess,
  type TestFactorySetup,
  removeFactoryContainers,
  slotContainers,
  startTestFactory,
} from '../support/factory-process.js';
import { PrivateEngine } from '../support/private-engine.js';
import { SLOT_IMAGE, buildSlotImage } from '../support/slot-image.js';
import { waitFor } from '../support/wait.js';

const engineUp = await realEngineAvailable('the factory under engine restarts');
const describeEngine = engineUp ? describe : describe.skip;

const NAME = 'dcvm-test-engine-restart';
const SLOTS = 4;
const RESTARTS = 5;

// The engine restarted here is a private one (its own data root and socket), never the engine the other tests use.
describeEngine('the factory while its Docker engine restarts', () => {
  const engine = new PrivateEngine();
  let setup: TestFactorySetup;
  let factory: FactoryProcess | undefined;

  beforeAll(async () => {
    await engine.start();
    await buildSlotImage(engine.docker);
    await removeFactoryContainers(NAME, engine.docker);
    const dir = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    setup = { name: NAME, dir, tokenFile: path.join(dir, 'pool.token'), image: SLOT_IMAGE };
    await writeFile(setup.tokenFile, 'stand-in\n', { mode: 0o600 });
  }, 120_000);

  afterAll(async () => {
    factory?.signal('SIGKILL');
    await factory?.exit;
    await removeFactoryContainers(NAME, engine.docker).catch(() => undefined);
    await engine.stop();
    if (setup) await rm(setup.dir, { recursive: true, force: true });
  }, 120_000);

  it(`survives ${RESTARTS} engine restarts: reconnects and converges to ${SLOTS} each time, no duplicate index, no orphan`, async () => {
    factory = startTestFactory(setup, SLOTS, ['--resync-seconds', '5'], { DOCKER_HOST: engine.host });
    let before = await waitConverged(NAME, SLOTS, 60_000, engine.docker);
    const rounds: { restart: number; convergedMs: number; replaced: number }[] = [];
    for (let restart = 1; restart <= RESTARTS; restart += 1) {
      await engine.restart();
      const restartedAt = Date.now();
      const after = await waitConverged(NAME, SLOTS, 90_000, engine.docker);
      rounds.push({
        restart,
        convergedMs: Date.now() - restartedAt,
        replaced: after.filter((c) => !before.some((b) => b.id === c.id)).length,
      });
      // Nothing but the slots: the stopped containers of before the restart were removed, not left beside them.
      expect(await slotContainers(NAME, engine.docker)).toHaveLength(SLOTS);
      before = after;
    }
    expect(factory.exit).toBeDefined();
    const connected = await waitFor(
      async () => {
        const lines = factory!.logs().filter((l) => l.event === 'events-connected');
        return lines.length >= RESTARTS + 1 ? lines : undefined;
      },
      30_000,
      'the events stream to reconnect after each restart',
    );
    console.log(
      `engine restarts: ${rounds.length}/${RESTARTS} survived; events stream connected ${connected.length} times; ` +
        rounds
          .map((r) => `#${r.restart} converged in ${(r.convergedMs / 1000).toFixed(1)} s (${r.replaced} replaced)`)
          .join(', '),
    );
    // The factory is still the same process, and healthy.
    expect(factory.logs().some((l) => l.event === 'factory-stopped')).toBe(false);
  }, 600_000);
});
