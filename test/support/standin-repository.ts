import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Debian's busybox-static: a whole userland in one static binary, so a root needs nothing else. */
export const BUSYBOX = '/bin/busybox';
const APPLETS = ['sh', 'cat', 'ls', 'echo', 'sleep', 'rm', 'touch', 'mkdir', 'test', 'true'];

/** A CernVM-like root: busybox and the release marker the mounter reads. */
export async function makeCernvmRoot(dir: string, version: string): Promise<void> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await copyFile(BUSYBOX, path.join(dir, 'bin', 'busybox'));
  await chmod(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of APPLETS) await symlink('busybox', path.join(dir, 'bin', applet));
  await writeFile(path.join(dir, `.installed_cernvm-system-${version}`), '');
  await mkdir(path.join(dir, 'etc'), { recursive: true });
  await writeFile(path.join(dir, 'etc', 'cernvm-release'), `CernVM ${version}\n`);
}

/**
 * A directory laid out like the cernvm-prod repository: `cvm4` at the top (the current release) and a virtual
 * snapshot directory `.cvmfs/snapshots/<tag>/cvm4` for each tag.
 */
export async function makeStandInRepository(
  repositoryDir: string,
  current: string,
  snapshots: readonly string[],
): Promise<void> {
  await makeCernvmRoot(path.join(repositoryDir, 'cvm4'), current);
  for (const tag of snapshots) {
    await makeCernvmRoot(
      path.join(repositoryDir, '.cvmfs', 'snapshots', tag, 'cvm4'),
      tag.replace(/^cernvm-system-/, ''),
    );
  }
}
