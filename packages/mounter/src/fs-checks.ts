import { readdir, stat } from 'node:fs/promises';

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

/** A directory with at least one entry: how a mounted repository is told from an empty mount point. */
export async function isPopulatedDirectory(dir: string): Promise<boolean> {
  return readdir(dir).then(
    (names) => names.length > 0,
    () => false,
  );
}
