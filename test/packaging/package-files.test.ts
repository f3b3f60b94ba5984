// What npm sees of the four packages: their bin files and package.json metadata. No engine.
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
  bin?: Record<string, string>;
  files?: string[];
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
