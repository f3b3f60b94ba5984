import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';

const SLOT_DIR = /^slot-(\d{1,4})$/;

/**
 * The disk each slot's scratch directory takes, in bytes allocated (what fills the file system, not file lengths),
 * by slot index. Links are counted as themselves, never followed; what vanishes while it is read counts nothing.
 */
export async function scratchUsage(root: string): Promise<Map<number, number>> {
  const usage = new Map<number, number>();
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    const slot = SLOT_DIR.exec(entry.name)?.[1];
    if (slot === undefined || !entry.isDirectory()) continue;
    usage.set(Number(slot), await allocatedBytes(path.join(root, entry.name)));
  }
  return usage;
}

async function allocatedBytes(file: string): Promise<number> {
  const info = await lstat(file).catch(() => undefined);
  if (!info) return 0;
  let total = info.blocks * 512;
  if (info.isDirectory()) {
    const names = await readdir(file).catch(() => []);
    for (const name of names) total += await allocatedBytes(path.join(file, name));
  }
  return total;
}
