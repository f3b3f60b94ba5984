import { readdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { MounterError } from './errors.js';
import { isDirectory } from './fs-checks.js';

const MARKER_PREFIX = '.installed_cernvm-system-';

/** Compares dotted versions numerically where both parts are numbers (4.10 after 4.9). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/);
  const pb = b.split(/[.-]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    const nx = /^\d+$/.test(x) ? Number(x) : NaN;
    const ny = /^\d+$/.test(y) ? Number(y) : NaN;
    const order = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
    if (order !== 0) return order;
  }
  return 0;
}

/** The CernVM system release of a root: its newest `.installed_cernvm-system-<version>` marker. */
export async function cernvmVersionOf(rootDir: string): Promise<string | undefined> {
  let names: string[];
  try {
    names = await readdir(rootDir);
  } catch {
    return undefined;
  }
  const versions = names.filter((name) => name.startsWith(MARKER_PREFIX)).map((n) => n.slice(MARKER_PREFIX.length));
  if (versions.length === 0) return undefined;
  return `cernvm-system-${versions.sort(compareVersions).at(-1)}`;
}

/**
 * The CernVM root inside a repository (or snapshot) directory, resolved without symlinks. It must stay inside
 * the repository: a symlink in the repository must not lead the bind mount elsewhere on the host.
 */
export async function resolveCernvmRoot(baseDir: string, root: string): Promise<string> {
  const wanted = path.join(baseDir, root);
  if (!(await isDirectory(wanted))) {
    const found = await readdir(baseDir).catch(() => [] as string[]);
    const roots = found.filter((name) => /^cvm\d+$/.test(name));
    throw new MounterError(
      'E_NO_CERNVM_ROOT',
      `no CernVM root at ${wanted}` + (roots.length ? `; roots found there: ${roots.join(', ')}` : ''),
    );
  }
  const [base, resolved] = await Promise.all([realpath(baseDir), realpath(wanted)]);
  if (resolved !== base && !resolved.startsWith(`${base}/`)) {
    throw new MounterError(
      'E_NO_CERNVM_ROOT',
      `the CernVM root ${wanted} leads outside the repository, to ${resolved}`,
    );
  }
  return resolved;
}
