import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TMP_PREFIX } from '../support/cleanup.js';
import { duplicateSlots, waitConverged } from '../support/converged.js';
import { docker, realEngineAvailable } from '../support/engine.js';
import {
  type FactoryProcess,
  type LogLine,
  type SlotContainer,
  type TestFactorySetup,
  controlRequest,
  removeFactoryContainers,
  slotContainers,
  socketOf,
  startTestFactory,
} from '../support/factory-process.js';
import { SeededRandom, sleep } from '../support/random.js';
import { SLOT_IMAGE, buildSlotImage } from '../support/slot-image.js';
import { waitFor } from '../support/wait.js';

const engineUp = await realEngineAvailable('the factory under faults');
const describeEngine = engineUp ? describe : describe.skip;

const NAME = 'dcvm-test-faults';
const random = new SeededRandom();

describeEngine(`the factory under faults on a real Docker engine (FAULT_SEED=${random.seed})`, () => {
  let setup: TestFactorySetup;
  let factory: FactoryProcess | undefined;
  let duplicatesSeen: number[] = [];

  const start = (slots: number, extra: string[] = []) => (factory = startTestFactory(setup, slots, extra));
  /** The engine's view, checked for two running containers on one index every time a test looks. */
  const observe = async (): Promise<SlotContainer[]> => {
    const containers = await slotContainers(NAME);
    duplicatesSeen.push(...duplicateSlots(containers));
    return containers;
  };
  /** A control request that may find the socket not there yet (the factory is starting) or gone (it was killed). */
  const request = (body: unknown) => controlRequest(socketOf(setup), body).catch(() => undefined);

  beforeAll(async () => {
    await buildSlotImage();
    await removeFactoryContainers(NAME);
    const dir = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    setup = { name: NAME, dir, tokenFile: path.join(dir, 'pool.token'), image: SLOT_IMAGE };
    await writeFile(setup.tokenFile, 'stand-in\n', { mode: 0o600 });
  });

  afterEach(async () => {
    factory?.signal('SIGKILL');
    await factory?.exit;
    factory = undefined;
    await removeFactoryContainers(NAME);
    await rm(path.join(setup.dir, 'state'), { recursive: true, force: true });
    expect(duplicatesSeen).toEqual([]);
    duplicatesSeen = [];
  });

  afterAll(async () => {
    if (setup) await rm(setup.dir, { recursive: true, force: true });
  });

  it('is SIGKILLed 10 times at random points of fill and resize; the next start adopts every container: exactly N, no duplicate', async () => {
    const kills: string[] = [];
    for (let kill = 1; kill <= 10; kill += 1) {
      const slots = random.int(2, 8);
      start(slots);
      await sleep(random.int(0, 2500));
      let resized = '';
      if (random.next() < 0.5) {
        const to = random.int(1, 10);
        resized = (await request({ command: 'scale', slots: to }))?.ok ? ` → ${to}` : ` → ${to} (not yet listening)`;
        await sleep(random.int(0, 800));
      }
      factory!.signal('SIGKILL');
      await factory!.exit;
      const left = await observe();
      kills.push(`${slots}${resized}: ${left.length} left`);
    }
    // A slot the killed factory had told to drain is on its way out (the stand-in exits at once): once it has gone,
    // what is left is what the next start must adopt.
    await sleep(2_000);
    const left = await observe();
    const final = 6;
    start(final);
    const converged = await waitConverged(NAME, final);
    // Adopted, not replaced: every container running on a slot the final size keeps is still the one there.
    const kept = left.filter((c) => c.state === 'running' && c.slot < final);
    expect(converged.filter((c) => kept.some((k) => k.id === c.id))).toHaveLength(kept.length);
    expect(await observe()).toHaveLength(final);
    console.log(
      `factory SIGKILLs: 10/10 recovered; then ${kept.length} adopted of ${left.length} left, converged to ${final}; each kill: ${kills.join('; ')}`,
    );
  }, 240_000);

  it('replaces 100 random container kills, each on its own index, with indices unique throughout', async () => {
    const slots = 16;
    start(slots);
    await waitConverged(NAME, slots);
    const killed: SlotContainer[] = [];
    // Only containers made 12 s ago or more (up 10 s, give or take the engine's whole seconds and its start time): each
    // kill is then a first crash, replaced at once. Quicker repeats on one slot are a crash loop, which backs off.
    while (killed.length < 100) {
      const eligible = (await observe()).filter((c) => c.state === 'running' && Date.now() / 1000 - c.created >= 12);
      if (!eligible.length) {
        await sleep(200);
        continue;
      }
      const victim = random.pick(eligible);
      await docker.getContainer(victim.id).kill();
      killed.push(victim);
      await sleep(random.int(50, 400));
    }
    const converged = await waitConverged(NAME, slots);
    expect(converged.filter((c) => killed.some((k) => k.id === c.id))).toEqual([]);
    const exits = factory!.logs().filter((l) => l.event === 'slot-exited');
    const starts = factory!.logs().filter((l) => l.event === 'slot-started');
    expect(exits.length).toBeGreaterThanOrEqual(100);
    // A kill after 10 s up is replaced at once; only a container that (on a loaded engine) started late waits.
    expect(exits.filter((l) => (l.retry_in_s ?? 0) !== 0 && Number(l.ran_s) >= 10)).toEqual([]);
    expect(starts.length).toBe(slots + exits.length);
    console.log(
      `container kills: ${killed.length} killed, ${exits.length} exits seen, ${starts.length - slots} replacements, ` +
        `${exits.filter((l) => Number(l.retry_in_s ?? 0) > 0).length} waited (up under 10 s), ${slots} running at the end`,
    );
  }, 300_000);

  it('drains while filling: every container it made exits 0, none is left behind, and it exits 0', async () => {
    start(16, ['--exit-when-drained']);
    await waitFor(
      async () => factory!.logs().some((l) => l.event === 'slot-started'),
      30_000,
      'the first slot to start',
      5,
    );
    factory!.signal('SIGUSR1');
    const { code } = await factory!.exitWithin(90_000);
    expect(code).toBe(0);
    const logs = factory!.logs();
    const started = logs.filter((l) => l.event === 'slot-started').length;
    const exits = logs.filter((l) => l.event === 'slot-exited');
    expect(exits).toHaveLength(started);
    // A drain that reaches a container before its shell has run a line ends it by the signal (138): a pilot a moment
    // old, with no job, drained all the same. Any other code, or any other reason, is a failure, shown whole.
    const drainedAsAsked = (l: LogLine) =>
      l.reason === 'drained' && (l.code === 0 || (l.code === 138 && Number(l.ran_s) < 1));
    expect(exits.filter((l) => !drainedAsAsked(l))).toEqual([]);
    expect(await observe()).toEqual([]);
    const early = exits.filter((l) => l.code === 138).length;
    console.log(
      `drain while filling: ${started} of 16 had started; all drained (${early} in their first instant), none left`,
    );
  }, 120_000);

  it('scales while draining: nothing starts until it resumes, then it converges to the last request', async () => {
    const config = path.join(setup.dir, 'slow-drain.yaml');
    await writeFile(config, 'environment:\n  SLOT_DRAIN_SECONDS: "3"\n');
    start(4, ['--config', config]);
    await waitConverged(NAME, 4);
    expect((await request({ command: 'drain' }))?.ok).toBe(true);
    for (const slots of [7, 1, 5, 3]) expect((await request({ command: 'scale', slots }))?.ok).toBe(true);
    const drainedAt = await waitFor(
      async () => ((await observe()).length === 0 ? factory!.logs().length : undefined),
      60_000,
      'every draining slot to finish',
    );
    expect(
      factory!
        .logs()
        .slice(0, drainedAt)
        .filter((l) => l.event === 'slot-started'),
    ).toHaveLength(4);
    expect((await request({ command: 'resume' }))?.ok).toBe(true);
    await waitConverged(NAME, 3);
  }, 120_000);

  it('takes 100 random resize requests and converges to the last one, leaking nothing', async () => {
    start(4);
    await waitConverged(NAME, 4);
    const requests: number[] = [];
    const watcher = (async () => {
      while (requests.length < 100) {
        await observe();
        await sleep(50);
      }
    })();
    for (let i = 0; i < 100; i += 1) {
      const slots = random.int(0, 10);
      const answer = await request({ command: 'scale', slots, ...(random.next() < 0.2 ? { force: true } : {}) });
      expect(answer?.ok).toBe(true);
      requests.push(slots);
      await sleep(random.int(0, 60));
    }
    await watcher;
    const last = requests.at(-1)!;
    await waitConverged(NAME, last, 90_000);
    const status = await request({ command: 'status' });
    expect((status?.result as { summary: { desired: number } }).summary.desired).toBe(last);
    console.log(`resize storm: 100 requests (${requests.join(' ')}), converged to ${last}`);
  }, 180_000);
});
