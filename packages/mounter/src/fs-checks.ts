import { opendir, readdir, stat } from 'node:fs/promises';

/** Read-only questions about the file system, answered false rather than thrown. */
export async function isDirectory(dir: string): Promise<boolean> {
  return stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

export async function isFile(file: string): Promise<boolean> {
  return stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * A FUSE mount whose client has died (CVMFS's cvmfs2, squashfuse): every access fails with ENOTCONN. It reads one
 * entry, as a stat of the mount's root may be answered from the kernel's attribute cache for a while.
 */
export async function isDisconnected(target: string): Promise<boolean> {
  try {
    const dir = await opendir(target);
    await dir.read().finally(() => dir.close());
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOTCONN';
  }
}

/** A directory with at least one entry: how a mounted repository is told from an empty mount point. */
export async function isPopulatedDirectory(dir: string): Promise<boolean> {
  return readdir(dir).then(
    (names) => names.length > 0,
    () => false,
  );
}
