import {
  chmodSync,
  closeSync,
  fchmodSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { readRegularFile } from './regular-file.js';
import type { RenderedFile } from './render.js';

/**
 * Writes a rendered pilot directory on the host. Each file is replaced atomically (temp file + rename), and a
 * config.d snippet that the new render no longer has is removed, so a running slot never reads half a file and a
 * dropped site snippet really goes. `status/` is where the entrypoint writes its heartbeat; `tokens.d/` is where
 * the token (file or directory) is mounted read-only; render() leaves the mount point, as /pilot is read-only.
 *
 * Synchronous: a dozen small local files, for which node's promise API costs several times the CPU. A file already
 * there as rendered is left as it is: a replaced slot's directory mostly is, and reading it back costs the kernel far
 * less than a new file and a rename (figures in docs/performance.md).
 */
export function writePilotDir(dir: string, files: readonly RenderedFile[]): void {
  mkdirSync(dir, { recursive: true });
  realDirectory(path.join(dir, 'config.d'));
  realDirectory(path.join(dir, 'status'));
  realDirectory(path.join(dir, 'tokens.d'), 0o700);
  for (const file of files) {
    const target = path.join(dir, file.path);
    if (alreadyWritten(target, file)) continue;
    mkdirSync(path.dirname(target), { recursive: true });
    // A dot file, which HTCondor's LOCAL_CONFIG_DIR_EXCLUDE_REGEXP skips; removed if the write fails (a full disk),
    // so config.d never keeps half a snippet under a name HTCondor would read.
    const temporary = path.join(path.dirname(target), `.${path.basename(target)}.tmp-${process.pid}`);
    try {
      // Made anew (O_EXCL: never through a link left at that name) and set up through its descriptor.
      rmSync(temporary, { force: true });
      const fd = openSync(temporary, 'wx', file.mode);
      try {
        writeFileSync(fd, file.content);
        fchmodSync(fd, file.mode);
      } finally {
        closeSync(fd);
      }
      // A directory where the file goes would make the rename fail, and the slot with it, at every try.
      if (lstatSync(target, { throwIfNoEntry: false })?.isDirectory()) rmSync(target, { recursive: true, force: true });
      renameSync(temporary, target);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }
  const wanted = new Set(files.filter((f) => f.path.startsWith('config.d/')).map((f) => path.basename(f.path)));
  for (const name of readdirSync(path.join(dir, 'config.d'))) {
    if (!wanted.has(name)) rmSync(path.join(dir, 'config.d', name), { recursive: true, force: true });
  }
}

/**
 * Makes `dir` a directory of its own. The slot's container can write to /pilot, so what a pilot left there is taken
 * for what it is, never followed: a symlink or a file in its place is removed first. Followed, a link from config.d to
 * a host directory would have had the next render write HTCondor snippets there and remove every other file in it,
 * and one from tokens.d would have had it chmod a host directory. (No container has the directory then: a slot's
 * directory is written only while no container of its index runs.)
 */
function realDirectory(dir: string, mode?: number): void {
  const info = lstatSync(dir, { throwIfNoEntry: false });
  if (info?.isDirectory()) {
    if (mode !== undefined && (info.mode & 0o7777) !== mode) chmodSync(dir, mode);
    return;
  }
  if (info) rmSync(dir, { force: true });
  mkdirSync(dir, mode === undefined ? {} : { mode });
  if (mode !== undefined) chmodSync(dir, mode); // the umask may have taken bits off
}

/** The file is there as rendered: a regular file, not a link to one, with the rendered mode and content. */
function alreadyWritten(target: string, file: RenderedFile): boolean {
  const rendered = Buffer.from(file.content);
  // Missing or a link (written anew, the rename replacing the link itself), or of another size, mode or content.
  const found = readRegularFile(target, rendered.length);
  return found !== undefined && found.mode === file.mode && found.content.equals(rendered);
}
