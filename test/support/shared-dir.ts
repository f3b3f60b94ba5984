import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TMP_PREFIX, hostMounts } from './cleanup.js';
import { removeUnmounted } from './condor-image.js';

const run = promisify(execFile);

export interface SharedDir {
  dir: string;
  /** Mounts a tmpfs at `target` (inside the directory) on the host, as autofs mounts a repository on first access. */
  mountTmpfs(target: string): Promise<void>;
  release(): Promise<void>;
}

/**
 * A temporary directory on a shared mount of its own (bound onto itself, then `mount --make-rshared`), as /cvmfs is
 * on a host where systemd made / shared: binds from it with rslave propagation then see what the host mounts under it
 * later. The test host's / is private, where Docker refuses rslave.
 */
export async function sharedTempDir(): Promise<SharedDir> {
  // Beside a chrooted engine, under the shared mount its start made (scripts/docker26.sh), which the engine follows.
  const dir = await mkdtemp(path.join(process.env.DOCKER_CERNVM_SHARED_DIR ?? tmpdir(), TMP_PREFIX));
  await run('mount', ['--bind', dir, dir]);
  await run('mount', ['--make-rshared', dir]);
  return {
    dir,
    async mountTmpfs(target: string) {
      await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', target]);
    },
    async release() {
      for (const entry of (await hostMounts.table()).filter((e) => e.mountPoint.startsWith(`${dir}/`)).reverse()) {
        await hostMounts.unmountAll(entry.mountPoint).catch(() => undefined);
      }
      await hostMounts.unmountAll(dir);
      await removeUnmounted(dir);
    },
  };
}
