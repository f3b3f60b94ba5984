import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
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

  const statusOf = async (tag: string) =>
    (await mounter.status()).placeholders.find((p) => p.tags.includes(tag))?.bound;

  it('status shows the bound root disconnected once the client dies, and mount refuses the repository in one line', async () => {
    const tag = 'docker-cernvm-test/fuse:a';
    await mounter.mount({ tag, repository: REPOSITORY });
    expect(await statusOf(tag)).toMatchObject({ readOnly: true, disconnected: false });

    fuse.kill();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await statusOf(tag)).toMatchObject({ disconnected: true });

    const refused = mounter.mount({ tag: 'docker-cernvm-test/fuse:b', repository: REPOSITORY });
    await expect(refused).rejects.toMatchObject({
      code: 'E_DISCONNECTED',
      message: expect.stringMatching(/^[^\n]*Transport endpoint is not connected[^\n]*restart it[^\n]*$/),
    });
  }, 120_000);
});
