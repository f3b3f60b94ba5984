import {
  chmodSync,
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import type { FeatureFiles } from './slot-features.js';

/**
 * Writes a slot's MJF directories (`<dir>/machine`, `<dir>/job`) on the host. Each file is replaced atomically (a dot
 * file, then a rename), so a job reading one through the read-only bind never sees half a value; a file no longer
 * wanted (a deadline taken back) is removed. Jobs run as the slot's user: directories 0755, files 0644.
 *
 * What was last written to each directory is remembered, so the factory's passes rewrite nothing that did not change.
 */
export class FeaturesDirWriter {
  private readonly written = new Map<string, string>();

  /** True when something changed on disk. */
  write(dir: string, files: FeatureFiles): boolean {
    const key = JSON.stringify(files);
    if (this.written.get(dir) === key) return false;
    writeFeatureDir(path.join(dir, 'machine'), files.machine);
    writeFeatureDir(path.join(dir, 'job'), files.job);
    this.written.set(dir, key);
    return true;
  }

  /** Forgets what was written to `dir`, so the next write checks the disk again (a slot made anew). */
  forget(dir: string): void {
    this.written.delete(dir);
  }
}

function writeFeatureDir(dir: string, files: Readonly<Record<string, string>>): void {
  const info = lstatSync(dir, { throwIfNoEntry: false });
  if (info && !info.isDirectory()) rmSync(dir, { force: true });
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755); // the umask may have taken bits off
  for (const [name, content] of Object.entries(files)) {
    const target = path.join(dir, name);
    const temporary = path.join(dir, `.${name}.tmp-${process.pid}`);
    try {
      rmSync(temporary, { force: true });
      const fd = openSync(temporary, 'wx', 0o644);
      try {
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
      chmodSync(temporary, 0o644);
      renameSync(temporary, target);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }
  for (const name of readdirSync(dir)) {
    if (!Object.hasOwn(files, name)) rmSync(path.join(dir, name), { recursive: true, force: true });
  }
}
