import { readFile, realpath, stat } from 'node:fs/promises';
import { PilotError } from './errors.js';
import { type SlotMount, isWithin } from './mounts.js';

/** Propagation of the host mount a path is on, as /proc/self/mountinfo shows it. */
export interface HostMountOf {
  mountPoint: string;
  propagation: 'shared' | 'slave' | 'private';
}

/** What the checks before a slot starts ask of the host; the system's in production, a fake in tests. */
export interface MountHost {
  /** The path with every symlink resolved, or undefined when it does not exist. */
  resolve(path: string): Promise<string | undefined>;
  /** The mount the (resolved) path is on. */
  mountOf(path: string): Promise<HostMountOf>;
}

// mountinfo escapes space, tab, newline and backslash as octal.
const unescape = (field: string) =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** The mount a path is on: the last-mounted entry with the longest mount point that holds it. */
export function mountOfPath(mountinfo: string, target: string): HostMountOf {
  let best: HostMountOf = { mountPoint: '/', propagation: 'private' };
  let bestLength = -1;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator === -1) continue;
    const mountPoint = unescape(fields[4] ?? '');
    if (!isWithin(target, mountPoint) || mountPoint.length < bestLength) continue;
    const optional = fields.slice(6, separator);
    const propagation = optional.some((f) => f.startsWith('shared:'))
      ? 'shared'
      : optional.some((f) => f.startsWith('master:'))
        ? 'slave'
        : 'private';
    best = { mountPoint, propagation };
    bestLength = mountPoint.length;
  }
  return best;
}

export class SystemMountHost implements MountHost {
  async resolve(path: string): Promise<string | undefined> {
    try {
      await stat(path);
      return await realpath(path);
    } catch {
      return undefined;
    }
  }

  async mountOf(path: string): Promise<HostMountOf> {
    return mountOfPath(await readFile('/proc/self/mountinfo', 'utf8'), path);
  }
}

export interface MountSourceCheck {
  mounts: readonly SlotMount[];
  /** Host paths no mount may show to jobs: the pool token, the slots' own directories, the scratch root. */
  protectedPaths: readonly string[];
  /** Names the setting in messages (`mounts` in a file, `--mount` on the command line). */
  key?: string;
}

/**
 * Before anything is made: every source exists, shows nothing protected (the token, other slots' directories) even
 * through a symlink, and, with rslave, is on a shared or slave host mount (Docker refuses it otherwise, and a
 * repository autofs mounts later could not reach a running slot). Throws PilotError E_BAD_MOUNT, one line.
 */
export async function checkMountSources(host: MountHost, check: MountSourceCheck): Promise<void> {
  const key = check.key ?? 'mounts';
  const protectedReal = await Promise.all(check.protectedPaths.map(async (p) => (await host.resolve(p)) ?? p));
  for (const [index, mount] of check.mounts.entries()) {
    const where = `${key}.${index}.source ${mount.source}`;
    const real = await host.resolve(mount.source);
    if (!real)
      throw new PilotError('E_BAD_MOUNT', `${where}: does not exist on this host (create it or mount it first)`);
    const exposed = [...check.protectedPaths, ...protectedReal].find((p) => isWithin(p, real) || isWithin(real, p));
    if (exposed)
      throw new PilotError(
        'E_BAD_MOUNT',
        `${where}: would show ${exposed} to every job; bind a directory apart from it`,
      );
    if (mount.propagation !== 'rslave') continue;
    const on = await host.mountOf(real);
    if (on.propagation === 'private') {
      throw new PilotError(
        'E_BAD_MOUNT',
        `${where}: is on the private mount ${on.mountPoint}, so a repository mounted under it later would not reach running slots ` +
          `(Docker refuses rslave there): run mount --make-rshared ${on.mountPoint} (systemd does this for / by default), ` +
          `or set propagation: rprivate for this mount`,
      );
    }
  }
}
