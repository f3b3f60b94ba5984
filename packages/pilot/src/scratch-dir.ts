import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { PilotError } from './errors.js';

const ENTRY = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/**
 * One slot's scratch directory, `<root>/<name>`: only ever a plain name right under the root, so emptying it can
 * never reach another slot's directory or anything above it.
 */
export function scratchDirOf(root: string, name: string): string {
  if (!ENTRY.test(name))
    throw new PilotError('E_BAD_OPTION', `a scratch directory name must be a plain name, got "${name}"`);
  return path.join(path.resolve(root), name);
}

/**
 * Makes `<root>/<name>` an empty directory. What a job left is removed without following symlinks (a link to
 * elsewhere goes, what it points to stays); a symlink or file where the directory should be is replaced by a
 * directory. The root is made (mode 0700: job files are nobody else's business on the host) when missing.
 */
export async function emptyScratchDir(root: string, name: string): Promise<string> {
  const dir = scratchDirOf(root, name);
  // A few system calls find the usual case, a directory that is there and empty (every slot of a fill): made
  // synchronously, as writePilotDir's are, they cost the factory's CPU a fraction of three promise round trips while
  // the engine makes the container. Removing what jobs left, which can be much, stays asynchronous.
  mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  const info = lstatSync(dir, { throwIfNoEntry: false });
  if (info && !info.isDirectory()) await rm(dir, { force: true });
  if (!info || !info.isDirectory()) {
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    return dir;
  }
  for (const entry of readdirSync(dir)) await rm(path.join(dir, entry), { recursive: true, force: true });
  return dir;
}
