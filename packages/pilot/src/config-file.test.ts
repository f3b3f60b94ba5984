import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readOptionsFile } from './config-file.js';
import type { PilotError } from './errors.js';

describe('readOptionsFile', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'config-file-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function file(name: string, text: string): Promise<string> {
    await writeFile(path.join(dir, name), text);
    return path.join(dir, name);
  }

  it('reads YAML with its types', async () => {
    const yaml = await file('pilot.yaml', 'collector: cm.example.org:9618\ncpus: 2\nattributes:\n  IsPilot: true\n');
    await expect(readOptionsFile(yaml)).resolves.toEqual({
      collector: 'cm.example.org:9618',
      cpus: 2,
      attributes: { IsPilot: true },
    });
  });

  it('reads JSON', async () => {
    await expect(readOptionsFile(await file('pilot.json', '{"cpus": 3}'))).resolves.toEqual({ cpus: 3 });
  });

  it('reads an empty file as no options', async () => {
    await expect(readOptionsFile(await file('empty.yaml', ''))).resolves.toEqual({});
  });

  it('refuses a missing file, naming it and the reason', async () => {
    const missing = path.join(dir, 'missing.yaml');
    await expect(readOptionsFile(missing)).rejects.toThrow(
      expect.objectContaining({ code: 'E_BAD_CONFIG', message: `${missing}: cannot read it (ENOENT)` }),
    );
  });

  it('refuses malformed YAML with one line naming the file', async () => {
    const bad = await file('bad.yaml', 'cpus: [1, 2\nslotName: x\n');
    const error = await readOptionsFile(bad).then(
      () => undefined,
      (e: unknown) => e as PilotError,
    );
    expect(error?.code).toBe('E_BAD_CONFIG');
    expect(error?.message.startsWith(`${bad}: not valid YAML: `)).toBe(true);
    expect(error?.message).not.toContain('\n');
  });

  it.each([
    ['a list', '- cpus: 1\n'],
    ['a scalar', 'just words\n'],
  ])('refuses %s instead of a mapping', async (_, text) => {
    await expect(readOptionsFile(await file('x.yaml', text))).rejects.toThrow(
      expect.objectContaining({ code: 'E_BAD_CONFIG', message: expect.stringContaining('expected a mapping') }),
    );
  });
});
