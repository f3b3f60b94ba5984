// writePilotDir when the rename fails after the temporary file was written (a full disk, an I/O error): node's fs
// stands in, failing renameSync on demand, since nothing a test can set up on disk makes a root's rename fail there.
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

const realFs = await import('node:fs');
let failRename = false;
jest.unstable_mockModule('node:fs', () => ({
  ...realFs,
  renameSync: (...args: Parameters<typeof realFs.renameSync>) => {
    if (failRename) throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
    realFs.renameSync(...args);
  },
}));
const { writePilotDir } = await import('./pilot-dir.js');
const { render } = await import('./render.js');
const { testOptions } = await import('./testing/pilot-options.js');

describe('writePilotDir when a rename fails', () => {
  let dir: string;
  beforeEach(async () => {
    dir = path.join(await mkdtemp(path.join(tmpdir(), 'pilot-dir-failure-')), 'slot1');
  });
  afterEach(async () => {
    failRename = false;
    await rm(path.dirname(dir), { recursive: true, force: true });
  });

  it('throws, and leaves no temporary file behind', async () => {
    writePilotDir(dir, render(testOptions()));
    failRename = true;
    expect(() => writePilotDir(dir, render(testOptions({ cpus: 2 })))).toThrow('EIO');
    const left = (await readdir(dir, { recursive: true })).map(String);
    expect(left.filter((p) => p.includes('tmp'))).toEqual([]);
  });
});
