import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import { MounterError } from './errors.js';

const MAX_SYMLINKS = 40;

/**
 * The file system the engine sees, as a directory of this host: `/` when dockerd runs on the host itself, the
 * chroot's directory when it runs in one (a test engine, a snap). Paths the engine reports (DockerRootDir,
 * containerd's socket and snapshot directories) are resolved inside it, symlinks included: an absolute link such
 * as the chroot's `/var/run -> /run` points into the chroot, not at the host's `/run`.
 */
export class EngineRoot {
  readonly root: string;

  constructor(root = '/') {
    if (!path.isAbsolute(root)) {
      throw new MounterError('E_BAD_OPTION', `--engine-root must be an absolute path, not ${JSON.stringify(root)}`);
    }
    this.root = path.resolve(root);
  }

  get isHost(): boolean {
    return this.root === '/';
  }

  /** The host path of a path the engine reported, as the kernel's mount table shows it (symlinks resolved). */
  async hostPath(enginePath: string): Promise<string> {
    if (!path.isAbsolute(enginePath))
      throw new MounterError('E_LAYER_MISMATCH', `the engine reported a relative path ${enginePath}`);
    const root = await realpath(this.root).catch((cause: unknown) => {
      throw new MounterError('E_BAD_OPTION', `the engine root ${this.root} does not exist here`, { cause });
    });
    if (this.isHost) return realpath(enginePath);
    return realpath(await resolveInside(root, enginePath));
  }

  /** The host path a path inside the engine's file system would have, without looking at the disk. */
  joined(enginePath: string): string {
    return path.join(this.root, enginePath);
  }
}

/** Follows every symlink of `enginePath` as a process chrooted at `root` would, never leaving `root`. */
async function resolveInside(root: string, enginePath: string): Promise<string> {
  const pending = enginePath.split('/').filter(Boolean);
  const resolved: string[] = [];
  let links = 0;
  while (pending.length) {
    const name = pending.shift() as string;
    if (name === '.') continue;
    if (name === '..') {
      resolved.pop();
      continue;
    }
    const candidate = path.join(root, ...resolved, name);
    const stats = await lstat(candidate).catch(() => undefined);
    if (!stats?.isSymbolicLink()) {
      resolved.push(name);
      continue;
    }
    if (++links > MAX_SYMLINKS)
      throw new MounterError('E_LAYER_MISMATCH', `too many symlinks in ${enginePath} under ${root}`);
    const target = await readlink(candidate);
    if (path.isAbsolute(target)) resolved.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return path.join(root, ...resolved);
}
