import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { HEARTBEAT_FILE } from '@docker-cernvm/pilot';
import { HostSlotDirs } from './slot-dirs.js';
import { heartbeat } from './testing/builders.js';

describe('HostSlotDirs', () => {
  let root: string;
  let dirs: HostSlotDirs;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'slot-dirs-'));
    dirs = new HostSlotDirs(path.join(root, 'f'), path.join(root, 'scratch', 'f'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function writeHeartbeat(slot: number, startedEpoch: number): Promise<void> {
    const file = path.join(dirs.dirOf(slot), HEARTBEAT_FILE);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, JSON.stringify(heartbeat({ startedEpoch, state: 'Claimed' })));
  }

  it('keeps each slot in its own directory under the root', () => {
    expect(dirs.dirOf(3)).toBe(path.join(root, 'f', 'slot-3'));
  });

  it('writes the rendered files into the slot directory, with their modes, and returns it', async () => {
    const dir = await dirs.writePilotFiles(2, [
      { path: 'condor_config', content: 'A = 1\n', mode: 0o644 },
      { path: 'entrypoint.sh', content: '#!/bin/sh\n', mode: 0o755 },
    ]);
    expect(dir).toBe(dirs.dirOf(2));
    expect(await readFile(path.join(dir, 'condor_config'), 'utf8')).toBe('A = 1\n');
    expect((await stat(path.join(dir, 'entrypoint.sh'))).mode & 0o777).toBe(0o755);
  });

  it('reads the heartbeat of the pilot now on the slot', async () => {
    await writeHeartbeat(1, 2_000);
    expect(await dirs.heartbeat(1, 2_000_000)).toMatchObject({ startedEpoch: 2_000, state: 'Claimed' });
  });

  it('allows a second of difference between the container start and the pilot’s own clock', async () => {
    await writeHeartbeat(1, 1_999);
    expect(await dirs.heartbeat(1, 2_000_000)).toBeDefined();
    await writeHeartbeat(1, 1_998);
    expect(await dirs.heartbeat(1, 2_000_000)).toBeUndefined();
  });

  it('ignores the heartbeat a previous pilot of the slot left behind', async () => {
    await writeHeartbeat(1, 1_000);
    expect(await dirs.heartbeat(1, 2_000_000)).toBeUndefined();
  });

  it('has no heartbeat for a slot whose pilot has not written one, or wrote garbage', async () => {
    expect(await dirs.heartbeat(5, 0)).toBeUndefined();
    const file = path.join(dirs.dirOf(6), HEARTBEAT_FILE);
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, '{"half":');
    expect(await dirs.heartbeat(6, 0)).toBeUndefined();
  });

  describe('scratch', () => {
    it('keeps each slot’s scratch in its own directory under the scratch root', () => {
      expect(dirs.scratchOf(3)).toBe(path.join(root, 'scratch', 'f', 'slot-3'));
    });

    it('empties only the slot asked for, and makes it when missing', async () => {
      const zero = await dirs.emptyScratch(0);
      const one = await dirs.emptyScratch(1);
      await mkdir(path.join(zero, 'dir_7'));
      await writeFile(path.join(zero, 'dir_7', 'out'), 'x');
      await writeFile(path.join(one, 'kept'), 'y');
      await expect(dirs.emptyScratch(0)).resolves.toBe(zero);
      expect(await readdir(zero)).toEqual([]);
      expect(await readdir(one)).toEqual(['kept']);
    });

    it('empties one slot one time after another, never twice at once', async () => {
      const dir = await dirs.emptyScratch(2);
      const many = await Promise.all(
        Array.from({ length: 5 }, async (_, i) => {
          await writeFile(path.join(dir, `f${i}`), 'x');
          return dirs.emptyScratch(2);
        }),
      );
      expect(new Set(many)).toEqual(new Set([dir]));
      expect(await readdir(dir)).toEqual([]);
    });
  });
});
