import { mkdir, readdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MounterError } from './errors.js';
import { isDirectory, isDisconnected, isFile, isPopulatedDirectory } from './fs-checks.js';
import type { MountOps } from './mount-ops.js';
import { type MountEntry, mountAt } from './mountinfo.js';
import { compareVersions } from './cernvm-root.js';
import { checkRepository, checkSnapshot, quoted } from './names.js';

export interface RepositoryPaths {
  /** Where the site's CVMFS client (autofs) shows repositories. */
  cvmfsDir: string;
  /** Where repositories are mounted when cvmfsDir does not show them: `<mountBase>/static_cernvm_<fqrn>`. */
  mountBase: string;
  /** The client's configuration directory, read to chain a private mount's configuration. */
  cvmfsConfigDir: string;
  /** Where private mounts keep their configuration file, cache and workspace. */
  stateDir: string;
}

export const DEFAULT_REPOSITORY_PATHS: RepositoryPaths = {
  cvmfsDir: '/cvmfs',
  mountBase: '/mnt',
  cvmfsConfigDir: '/etc/cvmfs',
  stateDir: '/var/lib/docker-cernvm',
};

const STATIC_PREFIX = 'static_cernvm_';

/** A repository mount of ours, recognised by its mount point's name. */
export interface RepositoryMount {
  repository: string;
  snapshot?: string;
  mountPoint: string;
  fsType: string;
}

/** Records a side effect so that a failing request can take back what it did. */
export type Undo = (action: () => Promise<void>) => void;

function isValidName(check: (name: string) => string, name: string): boolean {
  try {
    check(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Directory options end up in cvmfs2's `-o config=` list and in client configuration files: absolute paths of
 * plain characters only, so no `,`, `:`, quote or `$` can reach either.
 */
export function checkDirectoryOption(option: string, dir: string): string {
  if (!path.isAbsolute(dir) || !/^[A-Za-z0-9/._-]+$/.test(dir) || dir.split('/').includes('..')) {
    throw new MounterError(
      'E_BAD_OPTION',
      `invalid ${option} ${quoted(dir)}: expected an absolute path of letters, digits, '/', '.', '_' or '-'`,
    );
  }
  return path.normalize(dir).replace(/(.)\/+$/, '$1');
}

/** Finds CernVM-FS repositories and their snapshots, mounting them when the host does not show them already. */
export class RepositoryLocator {
  readonly paths: RepositoryPaths;

  constructor(
    private readonly mounts: MountOps,
    paths: RepositoryPaths = DEFAULT_REPOSITORY_PATHS,
  ) {
    this.paths = {
      cvmfsDir: checkDirectoryOption('--cvmfs-dir', paths.cvmfsDir),
      mountBase: checkDirectoryOption('--mount-base', paths.mountBase),
      cvmfsConfigDir: checkDirectoryOption('--cvmfs-config-dir', paths.cvmfsConfigDir),
      stateDir: checkDirectoryOption('--state-dir', paths.stateDir),
    };
  }

  staticMountPoint(repository: string, snapshot?: string): string {
    return path.join(this.paths.mountBase, `${STATIC_PREFIX}${repository}${snapshot ? `@${snapshot}` : ''}`);
  }

  /** The repository's directory if the host shows it already; never mounts. */
  async find(repository: string, table: readonly MountEntry[]): Promise<string | undefined> {
    const shared = path.join(this.paths.cvmfsDir, repository);
    if (await isPopulatedDirectory(shared)) return shared;
    // Not ours to replace: the host's client (autofs, a site's mount) serves it and has died.
    if (await isDisconnected(shared)) {
      throw new MounterError(
        'E_DISCONNECTED',
        `${shared}: Transport endpoint is not connected: the CernVM-FS client serving ${repository} has died; ` +
          `restart it (or umount -l ${shared} and mount it again), then retry`,
      );
    }
    const own = this.staticMountPoint(repository);
    if (mountAt(table, own) && (await isPopulatedDirectory(own))) return own;
    return undefined;
  }

  /** The repository's directory, mounting it with `mount -t cvmfs` when the host does not show it. */
  async ensure(repository: string, undo: Undo): Promise<string> {
    const table = await this.mounts.table();
    const found = await this.find(repository, table);
    if (found) return found;
    const target = this.staticMountPoint(repository);
    // A mount of ours that shows nothing (a dead FUSE client) is replaced, not stacked upon.
    if (mountAt(table, target)) await this.mounts.unmountAll(target);
    await this.makeMountPoint(target, undo);
    try {
      await this.mounts.mountCvmfs(repository, target);
    } catch (cause) {
      throw new MounterError(
        'E_NO_REPOSITORY',
        `${path.join(this.paths.cvmfsDir, repository)} is not available and mounting ${repository} at ${target} failed ` +
          `(is the CernVM-FS client installed and the repository configured? see docker-cernvm setup-repo): ` +
          (cause as Error).message,
        { cause },
      );
    }
    undo(() => this.mounts.unmount(target));
    if (!(await isPopulatedDirectory(target))) {
      throw new MounterError('E_NO_REPOSITORY', `${repository} mounted at ${target} but shows no files`);
    }
    return target;
  }

  /** The snapshots a repository publishes in its virtual snapshot directory, oldest name first. */
  async listSnapshots(repositoryDir: string): Promise<string[] | undefined> {
    const dir = path.join(repositoryDir, '.cvmfs', 'snapshots');
    if (!(await isDirectory(dir))) return undefined;
    return (await readdir(dir)).sort(compareVersions);
  }

  /**
   * The directory showing a snapshot: the repository's virtual snapshot directory when it publishes one, else a
   * private mount pinned to that tag with its own cache and workspace.
   */
  async ensureSnapshot(repository: string, repositoryDir: string, snapshot: string, undo: Undo): Promise<string> {
    const published = await this.listSnapshots(repositoryDir);
    if (published) {
      if (!published.includes(snapshot)) {
        const recent = published.slice(-5).join(', ') || 'none';
        throw new MounterError(
          'E_NO_SNAPSHOT',
          `${repository} has no snapshot ${snapshot} (newest: ${recent}; see docker-cernvm snapshots)`,
        );
      }
      return path.join(repositoryDir, '.cvmfs', 'snapshots', snapshot);
    }
    const target = this.staticMountPoint(repository, snapshot);
    if (mountAt(await this.mounts.table(), target)) {
      if (await isPopulatedDirectory(target)) return target;
      await this.mounts.unmountAll(target);
    }
    const configFiles = await this.writePrivateConfig(repository, snapshot);
    await this.makeMountPoint(target, undo);
    try {
      await this.mounts.mountCvmfsPrivate(repository, target, configFiles);
    } catch (cause) {
      throw new MounterError(
        'E_NO_SNAPSHOT',
        `${repository} publishes no snapshot directory and a private mount pinned to ${snapshot} failed: ` +
          (cause as Error).message,
        { cause },
      );
    }
    undo(() => this.mounts.unmount(target));
    if (!(await isPopulatedDirectory(target))) {
      throw new MounterError('E_NO_SNAPSHOT', `${repository} pinned to ${snapshot} at ${target} shows no files`);
    }
    return target;
  }

  /** Creates a mount point; a failing request removes it again if it created it. */
  private async makeMountPoint(target: string, undo: Undo): Promise<void> {
    const created = await mkdir(target, { recursive: true });
    if (!created) return;
    // rmdir, never a recursive delete: if the unmount failed, the directory still shows the repository.
    undo(async () => {
      for (let dir = target; ; dir = path.dirname(dir)) {
        await rmdir(dir);
        if (dir === created || dir === path.dirname(dir)) break;
      }
    });
  }

  /** The client's usual configuration chain, then ours: pinned tag, private cache and workspace. */
  private async writePrivateConfig(repository: string, snapshot: string): Promise<string[]> {
    const domain = repository.split('.').slice(1).join('.');
    const conf = this.paths.cvmfsConfigDir;
    const chain = [
      path.join(conf, 'default.conf'),
      path.join(conf, 'default.local'),
      path.join(conf, 'domain.d', `${domain}.conf`),
      path.join(conf, 'domain.d', `${domain}.local`),
      path.join(conf, 'config.d', `${repository}.conf`),
      path.join(conf, 'config.d', `${repository}.local`),
    ];
    const existing = [];
    for (const file of chain) if (await isFile(file)) existing.push(file);
    const privateDir = path.join(this.paths.stateDir, 'cvmfs', `${repository}@${snapshot}`);
    await mkdir(path.join(privateDir, 'cache'), { recursive: true });
    const ours = path.join(privateDir, 'client.conf');
    await writeFile(
      ours,
      [
        `CVMFS_REPOSITORY_TAG=${snapshot}`,
        `CVMFS_CACHE_BASE=${path.join(privateDir, 'cache')}`,
        `CVMFS_WORKSPACE=${path.join(privateDir, 'cache')}`,
        'CVMFS_SHARED_CACHE=no',
        'CVMFS_CLAIM_OWNERSHIP=no',
        '',
      ].join('\n'),
    );
    return [...existing, ours];
  }

  /** Repository mounts of ours found in the mount table. */
  repositoryMounts(table: readonly MountEntry[]): RepositoryMount[] {
    const prefix = path.join(this.paths.mountBase, STATIC_PREFIX);
    const mounts = new Map<string, RepositoryMount>();
    for (const entry of table) {
      if (!entry.mountPoint.startsWith(prefix)) continue;
      const [repository, snapshot, ...rest] = entry.mountPoint.slice(prefix.length).split('@');
      if (!repository || rest.length || !isValidName(checkRepository, repository)) continue;
      if (snapshot !== undefined && !isValidName(checkSnapshot, snapshot)) continue;
      mounts.set(entry.mountPoint, {
        repository,
        ...(snapshot ? { snapshot } : {}),
        mountPoint: entry.mountPoint,
        fsType: entry.fsType,
      });
    }
    return [...mounts.values()];
  }
}
