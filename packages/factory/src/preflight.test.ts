import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CONFIG_DEFAULTS, type FactoryConfig } from './config.js';
import { FactoryError } from './errors.js';
import { checkPinning, engineFactsOnce, preflight } from './preflight.js';
import { FakeClock } from './testing/fake-clock.js';
import { fakeMounter } from './testing/fake-mounter.js';
import { FakeMountHost } from './testing/fake-mount-host.js';
import { FakeRuntime } from './testing/fake-runtime.js';
import { templateHash, templateOf } from './template.js';

const tmp = await mkdtemp(path.join(tmpdir(), 'factory-preflight-'));
const token = path.join(tmp, 'pool.token');
await writeFile(token, 'token\n', { mode: 0o600 });
afterAll(() => rm(tmp, { recursive: true, force: true }));

const config = (overrides: Partial<FactoryConfig> = {}): FactoryConfig => ({
  ...CONFIG_DEFAULTS,
  slots: 2,
  tokenFile: token,
  stateDir: path.join(tmp, 'state'),
  scratchDir: path.join(tmp, 'scratch'),
  ...overrides,
});

const onDocker = async () => 'docker' as const;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('checkPinning', () => {
  it('takes as many pinned cores as the engine has, and refuses one more, naming both', () => {
    expect(() => checkPinning(2, 1, { cpus: 2, memoryBytes: 0 })).not.toThrow();
    expect(() => checkPinning(3, 1, { cpus: 2, memoryBytes: 0 })).toThrow(
      new FactoryError(
        'E_PIN_OVERCOMMIT',
        '3 slots × 1 core(s) need 3 pinned cores, but this host has 2: run fewer slots or pass --no-pin',
      ),
    );
  });
});

describe('engineFactsOnce', () => {
  it('asks the engine once, and again after a failed ask', async () => {
    const runtime = new FakeRuntime(new FakeClock());
    const facts = engineFactsOnce(runtime);
    await facts();
    await facts();
    expect(runtime.callsOf('facts')).toHaveLength(1);

    const failing = new FakeRuntime(new FakeClock());
    let asked = 0;
    failing.facts = async () => {
      asked += 1;
      if (asked === 1) throw new Error('engine down');
      return { cpus: 4, memoryBytes: 0 };
    };
    const again = engineFactsOnce(failing);
    await expect(again()).rejects.toThrow('engine down');
    await expect(again()).resolves.toEqual({ cpus: 4, memoryBytes: 0 });
    expect(asked).toBe(2);
  });
});

describe('preflight', () => {
  it('without pinning, never asks the engine for its facts and sets no index limit', async () => {
    const runtime = new FakeRuntime(new FakeClock());
    const { template, indexLimit } = await preflight(
      config({ pin: false }),
      engineFactsOnce(runtime),
      fakeMounter(),
      new FakeMountHost(),
      onDocker,
    );
    expect(template.image).toBe('cernvm:4');
    expect(indexLimit).toBe(Number.POSITIVE_INFINITY);
    expect(runtime.callsOf('facts')).toEqual([]);
  });

  it('with pinning, limits slot indexes to the cores the engine has, per slot', async () => {
    const runtime = new FakeRuntime(new FakeClock());
    runtime.engineFacts = { cpus: 5, memoryBytes: 0 };
    const { indexLimit } = await preflight(
      config({ pin: true, slots: 2, coresPerSlot: 2 }),
      engineFactsOnce(runtime),
      fakeMounter(),
      new FakeMountHost(),
      onDocker,
    );
    expect(indexLimit).toBe(2);
  });

  it('reports the engine’s failure before the token’s and the image’s, though all are asked at once', async () => {
    const runtime = new FakeRuntime(new FakeClock());
    runtime.facts = async () => {
      throw new Error('connect ENOENT /var/run/docker.sock');
    };
    const broken = config({ pin: true, tokenFile: path.join(tmp, 'missing.token'), image: 'site/missing:1' });
    const error = await rejection(
      preflight(broken, engineFactsOnce(runtime), fakeMounter(), new FakeMountHost(), onDocker),
    );
    expect((error as Error).message).toBe('connect ENOENT /var/run/docker.sock');
  });

  it('reports pinning before the token, and the token before the image', async () => {
    const runtime = new FakeRuntime(new FakeClock());
    const host = new FakeMountHost();
    const overPinned = config({
      pin: true,
      slots: 3,
      tokenFile: path.join(tmp, 'missing.token'),
      image: 'site/missing:1',
    });
    expect(
      await rejection(preflight(overPinned, engineFactsOnce(runtime), fakeMounter(), host, onDocker)),
    ).toMatchObject({
      code: 'E_PIN_OVERCOMMIT',
    });
    const noToken = config({ pin: false, tokenFile: path.join(tmp, 'missing.token'), image: 'site/missing:1' });
    const tokenError = await rejection(preflight(noToken, engineFactsOnce(runtime), fakeMounter(), host, onDocker));
    expect((tokenError as Error).message).toContain('missing.token');
    const noImage = config({ pin: false, image: 'site/missing:1' });
    expect(await rejection(preflight(noImage, engineFactsOnce(runtime), fakeMounter(), host, onDocker))).toMatchObject({
      code: 'E_NO_IMAGE',
    });
  });
});

describe('preflight: a CernVM root (cernvm:)', () => {
  const root = { rootDir: '/cvmfs/cernvm-prod.cern.ch/.cvmfs/snapshots/cernvm-system-4.7.1.0/cvm4' };
  const resolving = (asked: unknown[]) => ({
    ...fakeMounter(),
    describeImage: async () => {
      throw new Error('no image is looked at for a root');
    },
    resolveRoot: async (request?: unknown) => {
      asked.push(request);
      return { pair: { repository: 'cernvm-prod.cern.ch' }, rootDir: root.rootDir, version: 'cernvm-system-4.7.1.0' };
    },
  });
  const cernvm = { snapshot: 'cernvm-system-4.7.1.0' };

  it('on podman, resolves it with the mounter into the template, whose hash then names the root', async () => {
    const asked: unknown[] = [];
    const { template } = await preflight(
      config({ pin: false, cernvm }),
      engineFactsOnce(new FakeRuntime(new FakeClock())),
      resolving(asked),
      new FakeMountHost(),
      async () => 'podman',
    );
    expect(asked).toEqual([cernvm]);
    expect(template).toMatchObject({ rootfs: root.rootDir, cernvmVersion: '4.7.1.0' });
    const plain = templateOf(config({ pin: false, cernvm }), '4.7.1.0');
    expect(templateHash(template)).not.toBe(templateHash(plain));
  });

  it('on Docker, refuses it in one line saying what to do instead, resolving nothing', async () => {
    const asked: unknown[] = [];
    const error = await rejection(
      preflight(
        config({ pin: false, cernvm }),
        engineFactsOnce(new FakeRuntime(new FakeClock())),
        resolving(asked),
        new FakeMountHost(),
        onDocker,
      ),
    );
    expect(error).toEqual(
      new FactoryError(
        'E_BAD_CONFIG',
        'cernvm: on Docker, mount it with docker-cernvm mount and name its tag in image:',
      ),
    );
    expect(asked).toEqual([]);
  });
});

describe('preflight: machine/job features', () => {
  it('refuses a mount over the directories where jobs find their machine and job features', async () => {
    const runtime = new FakeRuntime(new FakeClock());
    const mounts = [{ source: tmp, target: '/etc/jobfeatures', readOnly: true, propagation: 'rprivate' as const }];
    const error = await rejection(
      preflight(config({ pin: false, mounts }), engineFactsOnce(runtime), fakeMounter(), new FakeMountHost(), onDocker),
    );
    expect(error).toBeInstanceOf(FactoryError);
    expect((error as FactoryError).message).toBe(
      "mounts.0.target: expected a path apart from the slot's own /etc/jobfeatures (got /etc/jobfeatures)",
    );
  });
});
