import {
  chmodSync,
  closeSync,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { checkHostToken } from '@docker-cernvm/pilot';
import type { TokenFiles } from './token-keeper.js';

/** The pool token on this host, and the copy in `<dir>/<name>` that every slot sees through a read-only bind. */
export class HostTokenFiles implements TokenFiles {
  constructor(
    readonly dir: string,
    readonly name: string,
  ) {}

  fingerprint(file: string): string | undefined {
    const info = statSync(file, { throwIfNoEntry: false });
    if (!info) return undefined;
    return [info.dev, info.ino, info.size, info.mtimeMs, info.ctimeMs, info.mode, info.uid].join(':');
  }

  check(file: string): Promise<void> {
    return checkHostToken(file);
  }

  install(file: string): boolean {
    const content = readFileSync(file);
    const target = path.join(this.dir, this.name);
    const info = lstatSync(this.dir, { throwIfNoEntry: false });
    if (info && !info.isDirectory()) rmSync(this.dir, { force: true });
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    chmodSync(this.dir, 0o700);
    const old = lstatSync(target, { throwIfNoEntry: false });
    // Already there as a regular file of the same content and mode: a touch of the host file rotates nothing.
    if (old?.isFile() && (old.mode & 0o777) === 0o600 && readFileSync(target).equals(content)) return false;
    const temporary = path.join(this.dir, `.${this.name}.tmp-${process.pid}`);
    try {
      rmSync(temporary, { force: true });
      const fd = openSync(temporary, 'wx', 0o600);
      try {
        fchmodSync(fd, 0o600);
        writeSync(fd, content);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, target);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
    return true;
  }
}
