import path from 'node:path';

/** One line of /proc/self/mountinfo: the kernel's mount table is our only record of what is mounted. */
export interface MountEntry {
  id: number;
  parentId: number;
  /** `major:minor` of the file system the mount shows. */
  device: string;
  /** The directory of that file system shown at the mount point (for a bind mount, the bound directory). */
  root: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  source: string;
  /** The bound directory was deleted from its file system (the kernel appends `//deleted`). */
  deleted: boolean;
}

/** Where a directory lives: two paths with the same identity show the same directory. */
export interface DirectoryIdentity {
  device: string;
  root: string;
}

// mountinfo escapes space, tab, newline and backslash as octal.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const fields = line.split(' ');
    const separator = fields.indexOf('-', 6);
    if (separator === -1 || fields.length < separator + 3) continue;
    let root = unescape(fields[3] ?? '');
    const deleted = root.endsWith('//deleted');
    if (deleted) root = root.slice(0, -'//deleted'.length);
    entries.push({
      id: Number(fields[0]),
      parentId: Number(fields[1]),
      device: fields[2] ?? '',
      root,
      mountPoint: unescape(fields[4] ?? ''),
      options: (fields[5] ?? '').split(','),
      fsType: fields[separator + 1] ?? '',
      source: unescape(fields[separator + 2] ?? ''),
      deleted,
    });
  }
  return entries;
}

/** The visible mount at exactly this path (the last one mounted there), if any. */
export function mountAt(table: readonly MountEntry[], mountPoint: string): MountEntry | undefined {
  return table.findLast((entry) => entry.mountPoint === mountPoint);
}

/** Every mount stacked at exactly this path, the visible one last. */
export function mountsAt(table: readonly MountEntry[], mountPoint: string): MountEntry[] {
  return table.filter((entry) => entry.mountPoint === mountPoint);
}

export function isWithin(child: string, parent: string): boolean {
  return parent === '/' || child === parent || child.startsWith(`${parent}/`);
}

/** The mount whose file system holds this absolute, symlink-free path. */
export function mountContaining(table: readonly MountEntry[], realPath: string): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const entry of table) {
    if (isWithin(realPath, entry.mountPoint) && (!best || entry.mountPoint.length >= best.mountPoint.length)) {
      best = entry;
    }
  }
  return best;
}

/** The identity of an absolute, symlink-free path, derived from the mount that holds it. */
export function identityOfPath(table: readonly MountEntry[], realPath: string): DirectoryIdentity | undefined {
  const holder = mountContaining(table, realPath);
  if (!holder) return undefined;
  const rest = path.relative(holder.mountPoint, realPath);
  return { device: holder.device, root: rest ? path.posix.join(holder.root, rest) : holder.root };
}

export function identityOfMount(entry: MountEntry): DirectoryIdentity {
  return { device: entry.device, root: entry.root };
}

export function sameIdentity(a: DirectoryIdentity | undefined, b: DirectoryIdentity | undefined): boolean {
  return !!a && !!b && a.device === b.device && a.root === b.root;
}

export function isReadOnly(entry: MountEntry): boolean {
  return entry.options.includes('ro');
}

/**
 * A path where the directory shown by a bind mount can be reached other than through the bind itself, for
 * display: another mount of the same file system whose root holds the bound directory.
 */
export function sourcePathOf(table: readonly MountEntry[], bind: MountEntry): string | undefined {
  let best: MountEntry | undefined;
  for (const entry of table) {
    if (entry.id === bind.id || entry.device !== bind.device || !isWithin(bind.root, entry.root)) continue;
    if (isWithin(entry.mountPoint, bind.mountPoint)) continue;
    if (!best || entry.root.length > best.root.length) best = entry;
  }
  if (!best) return undefined;
  const rest = path.posix.relative(best.root, bind.root);
  return rest ? path.posix.join(best.mountPoint, rest) : best.mountPoint;
}
