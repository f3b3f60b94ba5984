// What npm sees of the four packages: their bin files and package.json metadata. No engine. scripts/pack.sh packs
// them; CI installs its tarballs.
import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const COMMANDS = [
  ['mounter', 'docker-cernvm'],
  ['pilot', 'docker-cernvm-pilot'],
  ['factory', 'docker-cernvm-factory'],
] as const;

interface PackageJson {
  name: string;
  version: string;
  bin?: Record<string, string>;
  files?: string[];
  dependencies?: Record<string, string>;
  [key: string]: unknown;
}

const packageJson = async (dir: string) =>
  JSON.parse(await readFile(path.join(ROOT, 'packages', dir, 'package.json'), 'utf8')) as PackageJson;

describe('the packages’ bin files', () => {
  it.each(COMMANDS)(
    '%s links %s to a committed, executable file that npm can link before the build',
    async (dir, command) => {
      const { bin = {}, files = [] } = await packageJson(dir);
      expect(Object.keys(bin)).toEqual([command]);
      const target = path.join('packages', dir, bin[command] ?? '');
      // Committed: npm links bins at install, when nothing is built yet.
      const { stdout } = await run('git', ['ls-files', '--error-unmatch', target], { cwd: ROOT });
      expect(stdout.trim()).toBe(target);
      expect((await stat(path.join(ROOT, target))).mode & 0o111).toBe(0o111);
      expect((await readFile(path.join(ROOT, target), 'utf8')).split('\n')[0]).toBe('#!/usr/bin/env node');
      expect(files).toContain(path.dirname(path.normalize(bin[command] ?? '')));
    },
  );

  it.each(COMMANDS)(
    '%s: package-lock.json links %s to the same file, as npm ci reads it from there',
    async (dir, command) => {
      const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8')) as {
        packages: Record<string, PackageJson>;
      };
      const { bin = {} } = await packageJson(dir);
      expect(lock.packages[`packages/${dir}`]?.bin).toEqual({ [command]: path.normalize(bin[command] ?? '') });
    },
  );

  it.each(COMMANDS)('%s: %s without a build says so and exits 1', async (dir, command) => {
    const unbuilt = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-unbuilt-'));
    try {
      await mkdir(path.join(unbuilt, 'bin'));
      await writeFile(path.join(unbuilt, 'package.json'), '{ "type": "module" }\n');
      await copyFile(
        path.join(ROOT, 'packages', dir, 'bin', `${command}.js`),
        path.join(unbuilt, 'bin', `${command}.js`),
      );
      const result = await run(process.execPath, [path.join(unbuilt, 'bin', `${command}.js`), '--help']).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
      expect(result).toEqual({
        code: 1,
        stderr: `error: ${command} is not built: run \`npm run build\` in the repository\n`,
      });
    } finally {
      await rm(unbuilt, { recursive: true, force: true });
    }
  });
});

describe('the packages’ metadata for publishing', () => {
  const DIRS = ['cli-kit', 'mounter', 'pilot', 'factory'];
  const LERNA = path.join(ROOT, 'lerna.json');

  it.each(DIRS)('%s names what npm shows, ships dist, bin and README.md, and its README exists', async (dir) => {
    const pkg = await packageJson(dir);
    expect(pkg.name).toBe(`@docker-cernvm/${dir}`);
    for (const key of ['description', 'license', 'engines']) expect([key, pkg[key]]).toEqual([key, expect.anything()]);
    expect(pkg.repository).toMatchObject({ type: 'git', directory: `packages/${dir}` });
    expect(pkg.files).toEqual(expect.arrayContaining(['dist', 'README.md']));
    await expect(stat(path.join(ROOT, 'packages', dir, 'README.md'))).resolves.toBeDefined();
  });

  it('all four name the licence whose text is the root LICENSE, which scripts/pack.sh puts in each tarball', async () => {
    const [title, version] = (await readFile(path.join(ROOT, 'LICENSE'), 'utf8')).trim().split('\n');
    expect([title?.trim(), version?.trim()]).toEqual(['Apache License', 'Version 2.0, January 2004']);
    for (const dir of DIRS) expect([dir, (await packageJson(dir)).license]).toEqual([dir, 'Apache-2.0']);
  });

  it('all four have lerna’s one version, and depend on each other at exactly that version', async () => {
    const { version } = JSON.parse(await readFile(LERNA, 'utf8')) as { version: string };
    for (const dir of DIRS) {
      const pkg = await packageJson(dir);
      expect([pkg.name, pkg.version]).toEqual([pkg.name, version]);
      for (const [name, range] of Object.entries(pkg.dependencies ?? {}))
        if (name.startsWith('@docker-cernvm/')) expect([pkg.name, name, range]).toEqual([pkg.name, name, version]);
    }
    expect(Object.keys((await packageJson('factory')).dependencies ?? {})).toEqual(
      expect.arrayContaining(['@docker-cernvm/cli-kit', '@docker-cernvm/mounter', '@docker-cernvm/pilot']),
    );
  });
});
