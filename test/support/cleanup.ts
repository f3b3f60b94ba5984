import { type Mounter, MountOps, SystemHostCommands } from '@docker-cernvm/mounter';
import { removeTestContainers } from './engine.js';
import { removeLeftoverSquashfuse } from './fuse-repository.js';

/** Every temporary directory a real-engine test makes starts with this, so a later run can find its leftovers. */
export const TMP_PREFIX = 'docker-cernvm-it-';

export const hostMounts = new MountOps(new SystemHostCommands());

/**
 * Removes what an interrupted earlier run may have left for this test repository: test containers, binds over
 * placeholders, stand-in repository mounts under a test directory (and the squashfuse processes serving them), and
 * unused placeholders.
 */
export async function cleanUpTestMounts(mounter: Mounter, repository: string): Promise<void> {
  await removeTestContainers();
  await removeLeftoverSquashfuse();
  await mounter.unmountAll({ repository });
  for (const orphan of (await mounter.status()).orphanBinds) {
    if (orphan.deleted || orphan.source?.includes(TMP_PREFIX)) await hostMounts.unmountAll(orphan.layerDir);
  }
  for (const entry of await hostMounts.table()) {
    if (entry.mountPoint.includes(`/${TMP_PREFIX}`))
      await hostMounts.unmountAll(entry.mountPoint).catch(() => undefined);
  }
  await mounter.prune();
}
