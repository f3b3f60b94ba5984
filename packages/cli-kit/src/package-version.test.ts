import { describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageVersion } from './package-version.js';

describe('packageVersion', () => {
  it('reads this package’s version from its package.json', async () => {
    const url = new URL('../package.json', import.meta.url);
    const { version } = JSON.parse(await readFile(url, 'utf8')) as { version: string };
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    expect(packageVersion(url)).toBe(version);
  });

  it.each(['{}', '{ "version": "" }', '{ "version": 1 }'])(
    'refuses a package.json %s, naming the file',
    async (text) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'docker-cernvm-version-'));
      try {
        const file = path.join(dir, 'package.json');
        await writeFile(file, text);
        expect(() => packageVersion(pathToFileURL(file))).toThrow(`${file}: no version`);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
