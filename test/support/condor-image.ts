import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type Mounter, createMounter } from '@docker-cernvm/mounter';
import type Dockerode from 'dockerode';
import { TMP_PREFIX, cleanUpTestMounts, hostMounts } from './cleanup.js';
import { SquashfuseMount, cachedSquashImage } from './fuse-repository.js';

const run = promisify(execFile);
const FIXTURE_SCRIPT = new URL('../fixtures/condor-root.sh', import.meta.url).pathname;

/** A test-only repository name, so cleaning up never touches a site's real CernVM mounts. */
export const CONDOR_REPOSITORY = 'condor-root.test.invalid';
export const CONDOR_IMAGE = 'docker-cernvm-test/condor:trixie';

/** The Debian 13 + HTCondor root, built once per machine by the fixture script (about a minute when cold). */
export async function condorRoot(): Promise<string> {
  const { stdout } = await run('bash', [FIXTURE_SCRIPT], { maxBuffer: 1 << 20, timeout: 15 * 60_000 });
  return stdout.trim().split('\n').pop() ?? '';
}

/** The HTCondor root served by squashfuse at `target`, a FUSE file system as CVMFS serves CernVM. */
export async function mountCondorRootFuse(target: string): Promise<SquashfuseMount> {
  return SquashfuseMount.mount(await cachedSquashImage(await condorRoot()), target);
}

export interface MountedSnapshots {
  /** Image tag per CernVM version, each a placeholder with its own snapshot of the repository bound over it. */
  images: ReadonlyMap<string, string>;
  /** The first engine's mounter (the host's engine unless others are given). */
  mounter: Mounter;
  /** One per engine, in the order given. */
  mounters: readonly Mounter[];
  /** The stand-in for /cvmfs (a factory following snapshots is pointed here). */
  cvmfsDir: string;
  /** Publishes one more snapshot in the repository, without mounting it (as a new CernVM release appears). */
  publish(version: string): Promise<void>;
  release(): Promise<void>;
}

/**
 * Several snapshots of one stand-in repository, as CVMFS publishes them under `.cvmfs/snapshots/<tag>/cvm4`: each
 * is the same HTCondor root under a read-only overlay that adds its own `.installed_cernvm-system-<version>`
 * marker, so each snapshot reports its own CernVM version. Each is mounted over its own placeholder, on each of
 * `engines` (by default the host's engine; a fleet of private engines shares the one repository).
 */
export async function mountCondorSnapshots(
  versions: readonly string[],
  engines?: readonly Dockerode[],
): Promise<MountedSnapshots> {
  const tmp = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
  const cvmfsDir = path.join(tmp, 'cvmfs');
  const mounters = (engines ?? [undefined]).map((docker, i) => {
    const suffix = i === 0 ? '' : `-${i}`;
    return createMounter({
      ...(docker ? { docker } : {}),
      paths: { cvmfsDir, mountBase: path.join(tmp, `mnt${suffix}`), stateDir: path.join(tmp, `state${suffix}`) },
    });
  });
  for (const mounter of mounters) await cleanUpTestMounts(mounter, CONDOR_REPOSITORY);
  // Each snapshot is an overlay whose lower directory is the FUSE mount, as CVMFS's snapshots share one client.
  const fuse = await mountCondorRootFuse(path.join(tmp, 'root'));
  const root = fuse.target;
  const publish = async (version: string) => {
    const marker = path.join(tmp, 'markers', version);
    await mkdir(marker, { recursive: true });
    await writeFile(path.join(marker, `.installed_cernvm-system-${version}`), '');
    const target = path.join(cvmfsDir, CONDOR_REPOSITORY, '.cvmfs', 'snapshots', `cernvm-system-${version}`, 'cvm4');
    await mkdir(target, { recursive: true });
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `ro,lowerdir=${marker}:${root}`, target]);
  };
  const images = new Map<string, string>();
  for (const version of versions) {
    await publish(version);
    const tag = `docker-cernvm-test/condor:${version}`;
    for (const mounter of mounters)
      await mounter.mount({ tag, repository: CONDOR_REPOSITORY, snapshot: `cernvm-system-${version}` });
    images.set(version, tag);
  }
  return {
    images,
    mounter: mounters[0]!,
    mounters,
    cvmfsDir,
    publish,
    async release() {
      for (const mounter of mounters) await cleanUpTestMounts(mounter, CONDOR_REPOSITORY);
      await fuse.unmount();
      await removeUnmounted(tmp);
    },
  };
}

/** rm -rf, but never through a mount that is still there (it would reach into the fixture root). */
export async function removeUnmounted(dir: string): Promise<void> {
  const inside = (await hostMounts.table()).filter((entry) => entry.mountPoint.startsWith(`${dir}/`));
  if (inside.length) throw new Error(`still mounted under ${dir}: ${inside.map((e) => e.mountPoint).join(', ')}`);
  await rm(dir, { recursive: true, force: true });
}

export interface MountedCondorImage {
  image: string;
  mounter: Mounter;
  release(): Promise<void>;
}

/**
 * Serves the HTCondor root the way production serves CernVM: a repository on FUSE (here squashfuse serving the
 * fixture root at `<cvmfs>/<repository>/cvm4`) mounted over a placeholder with docker-cernvm's own library.
 */
export async function mountCondorImage(): Promise<MountedCondorImage> {
  const tmp = await mkdtemp(path.join(tmpdir(), TMP_PREFIX));
  const cvmfsDir = path.join(tmp, 'cvmfs');
  const mounter = createMounter({
    paths: { cvmfsDir, mountBase: path.join(tmp, 'mnt'), stateDir: path.join(tmp, 'state') },
  });
  await cleanUpTestMounts(mounter, CONDOR_REPOSITORY);
  const fuse = await mountCondorRootFuse(path.join(cvmfsDir, CONDOR_REPOSITORY, 'cvm4'));
  await mounter.mount({ tag: CONDOR_IMAGE, repository: CONDOR_REPOSITORY });
  return {
    image: CONDOR_IMAGE,
    mounter,
    async release() {
      await cleanUpTestMounts(mounter, CONDOR_REPOSITORY);
      await fuse.unmount();
      await removeUnmounted(tmp);
    },
  };
}
