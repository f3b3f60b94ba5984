import type { HostCommands } from './host-commands.js';
import { type MountEntry, mountsAt, parseMountInfo } from './mountinfo.js';

export interface MountOpsOptions {
  /** The cvmfs2 binary for private, snapshot-pinned mounts. */
  cvmfs2Command?: string;
}

/** The mount operations of the mounter, built on the host's mount(8), umount(8) and cvmfs2. */
export class MountOps {
  private readonly cvmfs2: string;

  constructor(
    private readonly host: HostCommands,
    options: MountOpsOptions = {},
  ) {
    this.cvmfs2 = options.cvmfs2Command ?? 'cvmfs2';
  }

  async table(): Promise<MountEntry[]> {
    return parseMountInfo(await this.host.readMountInfo());
  }

  /**
   * Binds source over target, read-only. The read-only flag protects the source: if the image is removed while
   * bound, the engine empties its layer directory, which would otherwise be the source tree itself.
   */
  async bindReadOnly(source: string, target: string): Promise<void> {
    await this.host.run('mount', ['--bind', source, target]);
    try {
      await this.host.run('mount', ['-o', 'remount,bind,ro', target]);
    } catch (error) {
      await this.host.run('umount', [target]).catch(() => undefined);
      throw error;
    }
  }

  async makeReadOnly(target: string): Promise<void> {
    await this.host.run('mount', ['-o', 'remount,bind,ro', target]);
  }

  /** Unmounts everything stacked at target, so nothing of ours stays hidden below. */
  async unmountAll(target: string): Promise<void> {
    let stacked = mountsAt(await this.table(), target).length;
    while (stacked > 0) {
      await this.host.run('umount', [target]);
      const remaining = mountsAt(await this.table(), target).length;
      if (remaining >= stacked) break;
      stacked = remaining;
    }
  }

  async unmount(target: string): Promise<void> {
    await this.host.run('umount', [target]);
  }

  /** The standard client mount (through mount.cvmfs), using the repository's own configuration. */
  async mountCvmfs(repository: string, target: string): Promise<void> {
    await this.host.run('mount', ['-t', 'cvmfs', repository, target]);
  }

  /** A private client mount with its own configuration chain, as needed for a second, pinned snapshot. */
  async mountCvmfsPrivate(repository: string, target: string, configFiles: readonly string[]): Promise<void> {
    await this.host.run(this.cvmfs2, ['-o', `config=${configFiles.join(':')},allow_other`, repository, target]);
  }
}
