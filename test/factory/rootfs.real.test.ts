import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { access, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DetectedRuntime, LABELS } from '@docker-cernvm/factory';
import { type Mounter, createMounter } from '@docker-cernvm/mounter';
import { pilotContainerOptions } from '@docker-cernvm/pilot';
import { TEST_LABEL, docker, engineIsPodman, execIn, realEngineAvailable } from '../support/engine.js';
import { SquashfuseMount, removeLeftoverSquashfuse, squashImage } from '../support/fuse-repository.js';
import { removeUnmounted } from '../support/condor-image.js';
import { TMP_PREFIX } from '../support/cleanup.js';
import { type SharedDir, sharedTempDir } from '../support/shared-dir.js';
import { makeCernvmRoot, makeStandInRepository } from '../support/standin-repository.js';

const SUITE = 'slots on a CernVM root (podman rootfs)';
const engineUp = await realEngineAvailable(SUITE);
const onPodman = engineUp && (await engineIsPodman());
// scripts/test.sh's podman stage sets this: there the suite must run, never skip.
if (!onPodman && process.env.DOCKER_CERNVM_EXPECT_PODMAN)
  throw new Error(`${SUITE}: DOCKER_CERNVM_EXPECT_PODMAN is set but DOCKER_HOST does not lead to podman`);
if (engineUp && !onPodman)
  console.warn(`${SUITE}: skipped, the engine is Docker (a CernVM root as a container's root is podman's rootfs)`);
const describePodman = onPodman ? describe : describe.skip;

const REPO = 'rootfs.test.invalid';
const LATER = 'later.test.invalid';
const NAME = 'dcvm-test-rootfs-slot';

describePodman(SUITE, () => {
  let shared: SharedDir;
  let scratch: string;
  let fuse: SquashfuseMount;
  let later: SquashfuseMount | undefined;
  let mounter: Mounter;
  let rootDir: string;
  let id: string;

  beforeAll(async () => {
    await removeLeftoverSquashfuse();
    const old = await docker.listContainers({ all: true, filters: { name: [NAME] } });
    await Promise.all(old.map((c) => docker.getContainer(c.Id).remove({ force: true })));
    // Everything under /cvmfs is on a shared mount, as on a host where systemd made / shared (rslave needs it).
    shared = await sharedTempDir();
    scratch = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
    const cvmfsDir = path.join(shared.dir, 'cvmfs');
    await makeStandInRepository(path.join(scratch, 'repo'), '4.7.1.0', []);
    await squashImage(path.join(scratch, 'repo'), path.join(scratch, 'repo.squashfs'));
    fuse = await SquashfuseMount.mount(path.join(scratch, 'repo.squashfs'), path.join(cvmfsDir, REPO));
    await makeCernvmRoot(path.join(scratch, 'later'), '4.8.0.0');
    await squashImage(path.join(scratch, 'later'), path.join(scratch, 'later.squashfs'));
    mounter = createMounter({
      paths: { cvmfsDir, mountBase: path.join(scratch, 'mnt'), stateDir: path.join(scratch, 'state') },
    });
    ({ rootDir } = await mounter.resolveRoot({ repository: REPO }));

    // A slot's body as the factory's template makes it (pilot directory, token, scratch, a rslave /cvmfs, hardening),
    // with a command the stand-in root has.
    const pilotDir = path.join(scratch, 'pilot');
    await mkdir(path.join(pilotDir, 'status'), { recursive: true });
    await mkdir(path.join(pilotDir, 'tokens.d'));
    await writeFile(path.join(pilotDir, 'tokens.d', 'pool.token'), 'stand-in\n', { mode: 0o600 });
    await mkdir(path.join(scratch, 'slot-scratch'));
    const body = pilotContainerOptions({
      name: NAME,
      image: 'unused-on-a-root',
      hostPilotDir: pilotDir,
      hostTokenFile: path.join(pilotDir, 'tokens.d', 'pool.token'),
      hostScratchDir: path.join(scratch, 'slot-scratch'),
      options: {
        pilotDir: '/pilot',
        tokenFile: '/pilot/tokens.d/pool.token',
        network: { mode: 'host', interface: '127.0.0.1' },
        executeDir: '/scratch',
        mounts: [{ source: cvmfsDir, target: '/cvmfs', readOnly: true, propagation: 'rslave' }],
      },
      memoryMb: 256,
      pidsLimit: 64,
      cpuset: '0',
      labels: { [TEST_LABEL]: '1', [LABELS.rootfs]: rootDir },
    });
    body.Cmd = ['/bin/sleep', '600'];
    id = await new DetectedRuntime(docker).createAndStart(body);
  }, 120_000);

  afterAll(async () => {
    if (id) await docker.getContainer(id).remove({ force: true });
    await later?.unmount();
    await fuse?.unmount();
    await shared?.release();
    if (scratch) await removeUnmounted(scratch);
  });

  // As uid 0: the stand-in root has no passwd file to look root up in.
  const exec = (command: string) => execIn(docker.getContainer(id), ['sh', '-c', command], '0');

  it('runs on the CernVM root itself, labelled with it', async () => {
    expect(await exec('cat /etc/cernvm-release')).toEqual({ exitCode: 0, output: 'CernVM 4.7.1.0\n' });
    const inspected = await docker.getContainer(id).inspect();
    expect(inspected.Config.Labels[LABELS.rootfs]).toBe(rootDir);
    expect(inspected.State.Running).toBe(true);
  });

  it('keeps writes inside the slot, never in the root it runs from', async () => {
    expect(
      await exec('echo slot > /written-in-slot && echo slot > /etc/written-in-slot && cat /etc/written-in-slot'),
    ).toEqual({ exitCode: 0, output: 'slot\n' });
    await expect(access(path.join(rootDir, 'written-in-slot'))).rejects.toThrow();
    await expect(access(path.join(rootDir, 'etc', 'written-in-slot'))).rejects.toThrow();
  });

  it('sees a repository the host mounts under /cvmfs after the slot started', async () => {
    expect((await exec(`test -e /cvmfs/${LATER}/etc/cernvm-release`)).exitCode).not.toBe(0);
    later = await SquashfuseMount.mount(path.join(scratch, 'later.squashfs'), path.join(shared.dir, 'cvmfs', LATER));
    expect(await exec(`cat /cvmfs/${LATER}/etc/cernvm-release`)).toEqual({ exitCode: 0, output: 'CernVM 4.8.0.0\n' });
  });
});
