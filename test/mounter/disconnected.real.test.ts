import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Mounter, createMounter } from '@docker-cernvm/mounter';
import { TMP_PREFIX, cleanUpTestMounts } from '../support/cleanup.js';
import { realEngineAvailable } from '../support/engine.js';
import { SquashfuseMount, squashImage } from '../support/fuse-repository.js';
import { makeStandInRepository } from '../support/standin-repository.js';

const REPOSITORY = 'cernvm-fuse.test.invalid';
const engineUp = await realEngineAvailable('the mounter against a repository whose FUSE client dies');
const describeEngine = engineUp ? describe : describe.skip;

describeEngine('docker-cernvm and a repository whose FUSE client has died', () => {
  let tmp: string;
  let mounter: Mounter;
  let fuse: SquashfuseMount;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    const cvmfsDir = path.join(tmp, 'cvmfs');
    mounter = createMounter({
      paths: { cvmfsDir, mountBase: path.join(tmp, 'mnt'), stateDir: path.join(tmp, 'state') },
    });
    await cleanUpTestMounts(mounter, REPOSITORY);
    await makeStandInRepository(path.join(tmp, 'source'), '4.7.1.0', []);
    await squashImage(path.join(tmp, 'source'), path.join(tmp, 'repository.squashfs'));
    fuse = await SquashfuseMount.mount(path.join(tmp, 'repository.squashfs'), path.join(cvmfsDir, REPOSITORY));
  });

  afterAll(async () => {
    if (mounter) await cleanUpTestMounts(mounter, REPOSITORY);
    await fuse?.unmount();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const placeholderOf = async (tag: string) => (await mounter.status()).placeholders.find((p) => p.tags.includes(tag));

  it('status shows the bound root disconnected once the client dies, mount refuses it in one line, unmount clears it', async () => {
    const tag = 'docker-cernvm-test/fuse:a';
    await mounter.mount({ tag, repository: REPOSITORY });
    const layerDir = (await placeholderOf(tag))?.layerDir as string;
    expect((await placeholderOf(tag))?.bound).toMatchObject({ readOnly: true, disconnected: false });

    fuse.kill();
    // The kernel answers a stat from its cache for a moment after the client died; the engine stats it too.
    await waitUntilDisconnected(layerDir);
    expect((await placeholderOf(tag))?.bound).toMatchObject({ disconnected: true });

    const refused = mounter.mount({ tag: 'docker-cernvm-test/fuse:b', repository: REPOSITORY });
    await expect(refused).rejects.toMatchObject({
      code: 'E_DISCONNECTED',
      message: expect.stringMatching(/^[^\n]*Transport endpoint is not connected[^\n]*restart it[^\n]*$/),
    });

    const unmounted = await mounter.unmountAll({ repository: REPOSITORY });
    expect(unmounted.unboundLayers).toContain(layerDir);
    expect((await placeholderOf(tag))?.bound).toBeUndefined();
  }, 120_000);
});

async function waitUntilDisconnected(dir: string): Promise<void> {
  for (let waited = 0; waited < 10_000; waited += 100) {
    const code = await stat(dir).then(
      () => undefined,
      (error: NodeJS.ErrnoException) => error.code,
    );
    if (code === 'ENOTCONN') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${dir} still answers 10 s after its FUSE client was killed`);
}
