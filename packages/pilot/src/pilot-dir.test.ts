import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { writePilotDir } from './pilot-dir.js';
import { type RenderedFile, render } from './render.js';
import { testOptions } from './testing/pilot-options.js';

const modeOf = async (file: string) => (await stat(file)).mode & 0o7777;

/** Every path under dir, relative, directories included. */
async function tree(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).map(String).sort();
}

describe('writePilotDir', () => {
  let dir: string;
  let previousUmask: number;
  beforeEach(async () => {
    dir = path.join(await mkdtemp(path.join(tmpdir(), 'pilot-dir-')), 'slot1');
    // A strict umask must not change the modes we ask for.
    previousUmask = process.umask(0o077);
  });
  afterEach(async () => {
    process.umask(previousUmask);
    await rm(path.dirname(dir), { recursive: true, force: true });
  });

  it('writes every rendered file with its content and mode', async () => {
    const files = render(testOptions());
    writePilotDir(dir, files);
    for (const file of files) {
      await expect(readFile(path.join(dir, file.path), 'utf8')).resolves.toBe(file.content);
      await expect(modeOf(path.join(dir, file.path))).resolves.toBe(file.mode);
    }
    await expect(modeOf(path.join(dir, 'entrypoint.sh'))).resolves.toBe(0o755);
  });

  it('makes the directory a rendered file goes into (a token mount point deeper than tokens.d)', async () => {
    writePilotDir(dir, [{ path: 'secrets/pool/pool.token', content: '', mode: 0o600 }]);
    await expect(modeOf(path.join(dir, 'secrets/pool/pool.token'))).resolves.toBe(0o600);
  });

  it('creates status/ for the heartbeat and tokens.d/ (0700) for the token mount', async () => {
    writePilotDir(dir, render(testOptions()));
    expect((await stat(path.join(dir, 'status'))).isDirectory()).toBe(true);
    await expect(modeOf(path.join(dir, 'tokens.d'))).resolves.toBe(0o700);
  });

  it('tightens an existing tokens.d to 0700', async () => {
    await mkdir(path.join(dir, 'tokens.d'), { recursive: true });
    await chmod(path.join(dir, 'tokens.d'), 0o755);
    writePilotDir(dir, render(testOptions()));
    await expect(modeOf(path.join(dir, 'tokens.d'))).resolves.toBe(0o700);
  });

  it('removes a config.d snippet the new render no longer has, and keeps the rest', async () => {
    writePilotDir(dir, render(testOptions({ siteSnippets: [{ name: 'site', content: 'NUM_CPUS = 8\n' }] })));
    expect(await readdir(path.join(dir, 'config.d'))).toContain('90-site-00-site.conf');
    const again = render(testOptions());
    writePilotDir(dir, again);
    const wanted = again.filter((f) => f.path.startsWith('config.d/')).map((f) => path.basename(f.path));
    expect((await readdir(path.join(dir, 'config.d'))).sort()).toEqual(wanted.sort());
  });

  it('replaces changed files in place', async () => {
    writePilotDir(dir, render(testOptions({ cpus: 1 })));
    writePilotDir(dir, render(testOptions({ cpus: 2 })));
    await expect(readFile(path.join(dir, 'config.d', '30-slot.conf'), 'utf8')).resolves.toContain('NUM_CPUS = 2\n');
  });

  it('leaves only the rendered files and the two directories, no temp files', async () => {
    const files = render(testOptions({ attributes: { A: 1 } }));
    writePilotDir(dir, files);
    writePilotDir(dir, files);
    expect(await tree(dir)).toEqual(['config.d', 'status', 'tokens.d', ...files.map((f) => f.path)].sort());
  });

  it('keeps the heartbeat and the token mount point when it renders again', async () => {
    writePilotDir(dir, render(testOptions()));
    await writeFile(path.join(dir, 'status', 'heartbeat.json'), '{}');
    await writeFile(path.join(dir, 'tokens.d', 'pool.token'), '');
    writePilotDir(dir, render(testOptions()));
    await expect(readFile(path.join(dir, 'status', 'heartbeat.json'), 'utf8')).resolves.toBe('{}');
    await expect(stat(path.join(dir, 'tokens.d', 'pool.token'))).resolves.toBeDefined();
  });

  it('leaves a file already there as rendered as it is, and writes anew one whose content or mode differs', async () => {
    const files = render(testOptions());
    writePilotDir(dir, files);
    const inodes = async () =>
      Object.fromEntries(await Promise.all(files.map(async (f) => [f.path, (await stat(path.join(dir, f.path))).ino])));
    const before = await inodes();
    await writeFile(path.join(dir, 'condor_config'), 'changed by a job\n');
    await chmod(path.join(dir, 'entrypoint.sh'), 0o777);
    writePilotDir(dir, files);
    const after = await inodes();
    for (const file of files) {
      await expect(readFile(path.join(dir, file.path), 'utf8')).resolves.toBe(file.content);
      await expect(modeOf(path.join(dir, file.path))).resolves.toBe(file.mode);
      // Written anew (a new inode, by the rename) only where something differed.
      expect([file.path, after[file.path] === before[file.path]]).toEqual([
        file.path,
        !['condor_config', 'entrypoint.sh'].includes(file.path),
      ]);
    }
  });

  it('replaces a symlink where a file goes, even to a file with the rendered content', async () => {
    const files = render(testOptions());
    writePilotDir(dir, files);
    const elsewhere = path.join(path.dirname(dir), 'elsewhere');
    await writeFile(elsewhere, (files.find((f) => f.path === 'condor_config') as RenderedFile).content, {
      mode: 0o644,
    });
    await rm(path.join(dir, 'condor_config'));
    await symlink(elsewhere, path.join(dir, 'condor_config'));
    writePilotDir(dir, files);
    expect((await lstat(path.join(dir, 'condor_config'))).isFile()).toBe(true);
    expect((await lstat(elsewhere)).isFile()).toBe(true);
  });

  describe('what a slot’s container left in /pilot, taken for what it is and never followed', () => {
    let elsewhere: string;
    beforeEach(async () => {
      // A host directory a link might point at: nothing written there, nothing removed, no mode changed.
      elsewhere = path.join(path.dirname(dir), 'elsewhere');
      await mkdir(elsewhere, { mode: 0o755 });
      await chmod(elsewhere, 0o755);
      await writeFile(path.join(elsewhere, 'keep.conf'), 'KEEP = 1\n');
      writePilotDir(dir, render(testOptions()));
    });
    const untouched = async () => {
      expect(await readdir(elsewhere)).toEqual(['keep.conf']);
      await expect(readFile(path.join(elsewhere, 'keep.conf'), 'utf8')).resolves.toBe('KEEP = 1\n');
      await expect(modeOf(elsewhere)).resolves.toBe(0o755);
    };

    it.each(['config.d', 'status', 'tokens.d'])(
      'a symlink in place of %s: replaced by a directory of its own',
      async (name) => {
        await rm(path.join(dir, name), { recursive: true });
        await symlink(elsewhere, path.join(dir, name));
        const files = render(testOptions());
        writePilotDir(dir, files);
        await untouched();
        expect((await lstat(path.join(dir, name))).isDirectory()).toBe(true);
        for (const file of files) await expect(readFile(path.join(dir, file.path), 'utf8')).resolves.toBe(file.content);
        await expect(modeOf(path.join(dir, 'tokens.d'))).resolves.toBe(0o700);
      },
    );

    it('a symlink at a temporary file’s name: the new file is made beside it, not written through it', async () => {
      await symlink(path.join(elsewhere, 'keep.conf'), path.join(dir, 'config.d', `.30-slot.conf.tmp-${process.pid}`));
      const files = render(testOptions({ cpus: 2 })); // 30-slot.conf changes
      writePilotDir(dir, files);
      await untouched();
      await expect(readFile(path.join(dir, 'config.d', '30-slot.conf'), 'utf8')).resolves.toContain('NUM_CPUS = 2\n');
      expect((await tree(dir)).filter((p) => p.includes('tmp'))).toEqual([]);
    });

    it('a directory where a file goes, and a directory and a link in config.d under names the render does not have: removed', async () => {
      await rm(path.join(dir, 'condor_config'));
      await mkdir(path.join(dir, 'condor_config', 'inside'), { recursive: true });
      await mkdir(path.join(dir, 'config.d', 'junk', 'deeper'), { recursive: true });
      await symlink(elsewhere, path.join(dir, 'config.d', 'link'));
      const files = render(testOptions());
      writePilotDir(dir, files);
      await untouched();
      expect((await lstat(path.join(dir, 'condor_config'))).isFile()).toBe(true);
      expect(await tree(dir)).toEqual(['config.d', 'status', 'tokens.d', ...files.map((f) => f.path)].sort());
    });

    it('a FIFO where a file goes: replaced, not opened for reading (that would block until a writer came)', async () => {
      await rm(path.join(dir, 'condor_config'));
      execFileSync('mkfifo', [path.join(dir, 'condor_config')]);
      const files = render(testOptions());
      writePilotDir(dir, files);
      expect((await lstat(path.join(dir, 'condor_config'))).isFile()).toBe(true);
      await expect(readFile(path.join(dir, 'condor_config'), 'utf8')).resolves.toBe(
        (files.find((f) => f.path === 'condor_config') as RenderedFile).content,
      );
    });
  });
});
