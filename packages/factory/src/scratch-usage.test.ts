import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scratchUsage } from './scratch-usage.js';

describe('scratchUsage', () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'scratch-usage-'));
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('sums what each slot directory holds, nested directories included, by slot index', async () => {
    await mkdir(path.join(root, 'slot-0', 'dir_7', 'deep'), { recursive: true });
    await writeFile(path.join(root, 'slot-0', 'dir_7', 'deep', 'big'), Buffer.alloc(1 << 20, 1));
    await mkdir(path.join(root, 'slot-3'));
    const usage = await scratchUsage(root);
    expect([...usage.keys()].sort()).toEqual([0, 3]);
    expect(usage.get(0)).toBeGreaterThanOrEqual(1 << 20);
    expect(usage.get(3)).toBeLessThan(1 << 16);
  });

  it('never follows a link out of the slot, and skips what is not a slot directory', async () => {
    await mkdir(path.join(root, 'slot-1'));
    await writeFile(path.join(root, 'elsewhere'), Buffer.alloc(1 << 20, 1));
    await symlink(path.join(root, 'elsewhere'), path.join(root, 'slot-1', 'link'));
    await mkdir(path.join(root, 'not-a-slot'));
    const usage = await scratchUsage(root);
    expect([...usage.keys()]).toEqual([1]);
    expect(usage.get(1)).toBeLessThan(1 << 16);
  });

  it('gives nothing for a scratch root that is not there yet', async () => {
    await expect(scratchUsage(path.join(root, 'missing'))).resolves.toEqual(new Map());
  });
});
