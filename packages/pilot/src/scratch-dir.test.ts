import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { emptyScratchDir, scratchDirOf } from './scratch-dir.js';

describe('emptyScratchDir', () => {
  let tmp: string;
  let root: string;

  beforeEach(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), 'scratch-'));
    root = path.join(tmp, 'scratch', 'f');
  });
  afterEach(() => rm(tmp, { recursive: true, force: true }));

  it('makes the directory (and a 0700 root) when missing, and returns it', async () => {
    const dir = await emptyScratchDir(root, 'slot-0');
    expect(dir).toBe(path.join(root, 'slot-0'));
    expect((await stat(dir)).isDirectory()).toBe(true);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    expect(await readdir(dir)).toEqual([]);
  });

  it('removes what a job left, deep, and leaves the other slots alone', async () => {
    const dir = await emptyScratchDir(root, 'slot-0');
    await mkdir(path.join(dir, 'dir_42', 'deep'), { recursive: true });
    await writeFile(path.join(dir, 'dir_42', 'deep', 'out'), 'x');
    const other = await emptyScratchDir(root, 'slot-1');
    await writeFile(path.join(other, 'kept'), 'y');
    await emptyScratchDir(root, 'slot-0');
    expect(await readdir(dir)).toEqual([]);
    expect(await readFile(path.join(other, 'kept'), 'utf8')).toBe('y');
  });

  it('removes a symlink a job left without following it', async () => {
    const outside = path.join(tmp, 'outside');
    await mkdir(outside);
    await writeFile(path.join(outside, 'precious'), 'p');
    const dir = await emptyScratchDir(root, 'slot-0');
    await symlink(outside, path.join(dir, 'link'));
    await emptyScratchDir(root, 'slot-0');
    expect(await readdir(dir)).toEqual([]);
    expect(await readFile(path.join(outside, 'precious'), 'utf8')).toBe('p');
  });

  it('replaces a symlink where the slot directory should be, leaving its target alone', async () => {
    const outside = path.join(tmp, 'outside');
    await mkdir(outside);
    await writeFile(path.join(outside, 'precious'), 'p');
    await mkdir(root, { recursive: true });
    await symlink(outside, path.join(root, 'slot-0'));
    const dir = await emptyScratchDir(root, 'slot-0');
    expect((await lstat(dir)).isDirectory()).toBe(true);
    expect(await readFile(path.join(outside, 'precious'), 'utf8')).toBe('p');
  });

  it.each(['..', '.', '../f', 'a/b', '', '.hidden'])('refuses %j as a slot directory name', (name) => {
    expect(() => scratchDirOf(root, name)).toThrow(/plain name/);
  });
});
