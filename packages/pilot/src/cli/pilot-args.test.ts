import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { attributeOf, pilotOptionsFromArgs } from './pilot-args.js';

describe('attributeOf', () => {
  it.each<[string, [string, string | number | boolean]]>([
    ['A=1', ['A', 1]],
    ['A=0', ['A', 0]],
    ['A=-42', ['A', -42]],
    ['A=true', ['A', true]],
    ['A=false', ['A', false]],
    ['A=x', ['A', 'x']],
    ['A=1.5', ['A', '1.5']],
    ['A=True', ['A', 'True']],
    ['A=0042', ['A', '0042']],
    ['A=1e3', ['A', '1e3']],
    ['A=a=b', ['A', 'a=b']],
    ['A=', ['A', '']],
    ['A= spaced ', ['A', ' spaced ']],
  ])('reads %j as %j', (text, expected) => {
    expect(attributeOf(text)).toEqual(expected);
  });

  it.each(['A', '=x', ''])('refuses %j, asking for NAME=VALUE', (text) => {
    expect(() => attributeOf(text)).toThrow(
      expect.objectContaining({ code: 'E_BAD_OPTION', message: expect.stringContaining('NAME=VALUE') }),
    );
  });
});

describe('pilotOptionsFromArgs', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pilot-args-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const pool = { collector: '127.0.0.1', 'trust-domain': 'pool.example.org' };

  async function config(text: string): Promise<string> {
    await writeFile(path.join(dir, 'pilot.yaml'), text);
    return path.join(dir, 'pilot.yaml');
  }

  it('applies a default only when neither the file nor a flag sets the key', async () => {
    await expect(pilotOptionsFromArgs(pool, { slotName: 'pilot' })).resolves.toMatchObject({ slotName: 'pilot' });
    const file = await config('slotName: from-file\n');
    await expect(pilotOptionsFromArgs({ ...pool, config: file }, { slotName: 'pilot' })).resolves.toMatchObject({
      slotName: 'from-file',
    });
    await expect(
      pilotOptionsFromArgs({ ...pool, config: file, 'slot-name': 'flag' }, { slotName: 'pilot' }),
    ).resolves.toMatchObject({
      slotName: 'flag',
    });
  });

  it('reads the integer flags as numbers, naming the flag for anything else', async () => {
    const options = await pilotOptionsFromArgs({
      ...pool,
      'slot-name': 's',
      cpus: '2',
      'disk-mb': '100',
      'idle-shutdown': '600',
      'max-lifetime': '3600',
      heartbeat: '10',
    });
    expect(options).toMatchObject({
      cpus: 2,
      diskMb: 100,
      idleShutdownSeconds: 600,
      maxLifetimeSeconds: 3600,
      heartbeatSeconds: 10,
    });
    await expect(pilotOptionsFromArgs({ ...pool, 'slot-name': 's', 'idle-shutdown': '1h' })).rejects.toThrow(
      '--idle-shutdown: expected a whole number, got "1h"',
    );
    await expect(pilotOptionsFromArgs({ ...pool, 'slot-name': 's', 'memory-mb': '2G' })).rejects.toThrow('--memory-mb');
  });

  it('blames the file for a cross-key problem in keys only the file set', async () => {
    const file = await config('networkMode: bridge\nnetworkInterface: 192.0.2.10\n');
    await expect(pilotOptionsFromArgs({ ...pool, 'slot-name': 's', config: file })).rejects.toThrow(
      expect.objectContaining({
        code: 'E_BAD_CONFIG',
        message: `${file}: networkInterface: expected nothing in bridge mode (use ccbAddress)`,
      }),
    );
  });

  it('blames the flag, not the file, when the flag set the key', async () => {
    const file = await config('networkMode: bridge\n');
    await expect(
      pilotOptionsFromArgs({ ...pool, 'slot-name': 's', config: file, 'network-interface': '192.0.2.10' }),
    ).rejects.toThrow(
      expect.objectContaining({
        code: 'E_BAD_OPTION',
        message: 'networkInterface: expected nothing in bridge mode (use ccbAddress)',
      }),
    );
  });
});
