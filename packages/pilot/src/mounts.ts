import * as z from 'zod';
import { PilotError } from './errors.js';
import { absolutePath } from './value-rules.js';

/** A host path bound into the slot: CVMFS (all of /cvmfs or one repository), site files, data. */
export interface SlotMount {
  /** Absolute path on the host; it must exist when the slot starts. */
  source: string;
  /** Absolute path in the container. */
  target: string;
  readOnly: boolean;
  /**
   * rslave: a file system the host mounts under the source later (autofs mounting a CVMFS repository on first
   * access) appears in running slots too; the source must then be on a shared or slave mount. rprivate: it does not.
   */
  propagation: 'rslave' | 'rprivate';
}

/** Where a slot's scratch directory (HTCondor's EXECUTE) is mounted in the container. */
export const SCRATCH_TARGET = '/scratch';

/** Container paths a mount may not be, or be inside: the kernel's, the OS's own programs, HTCondor's own files. */
const SYSTEM_TARGETS = [
  '/proc',
  '/sys',
  '/dev',
  '/bin',
  '/sbin',
  '/lib',
  '/lib32',
  '/lib64',
  '/usr',
  '/boot',
  '/run',
  '/var/run',
  '/etc/condor',
  '/var/lib/condor',
  '/var/log/condor',
];
/** Container paths a mount may not be exactly (shadowing all of them breaks the OS), though it may be inside them. */
const SYSTEM_PARENTS = ['/etc', '/var', '/var/lib', '/opt', '/home', '/root', '/tmp', '/srv', '/mnt'];
/** Host paths a mount may not be or contain: slots never get the Docker socket or the engine's own files. */
const FORBIDDEN_SOURCES = [
  '/run/docker.sock',
  '/var/run/docker.sock',
  '/var/lib/docker',
  '/run/containerd',
  '/var/lib/containerd',
];
/** Host trees a mount may not be inside: the kernel's. */
const KERNEL_SOURCES = ['/proc', '/sys', '/dev'];

/** True when `inner` is `outer` or inside it (plain string paths, both normalised). */
export function isWithin(inner: string, outer: string): boolean {
  return inner === outer || outer === '/' || inner.startsWith(`${outer}/`);
}

/** One entry of `mounts:` in a configuration file; the target defaults to the source. */
export const mountSchema = z
  .object({
    source: absolutePath('host')
      .refine((p) => !KERNEL_SOURCES.some((k) => isWithin(p, k)), 'a host path outside /proc, /sys and /dev')
      .refine(
        (p) => !FORBIDDEN_SOURCES.some((f) => isWithin(f, p) || isWithin(p, f)),
        'a host path that neither is nor holds the Docker socket or the engine’s files',
      ),
    target: absolutePath('container')
      .refine(
        (p) => !SYSTEM_TARGETS.some((s) => isWithin(p, s)) && !SYSTEM_PARENTS.includes(p),
        'a container path that does not hide the system (not /usr, /etc, /proc, … or HTCondor’s own)',
      )
      .optional(),
    readOnly: z.boolean({ error: 'true or false' }).default(true),
    propagation: z
      .enum(['rslave', 'rprivate'], { error: 'rslave (later host mounts appear inside) or rprivate' })
      .default('rslave'),
  })
  .strict()
  .transform((m): SlotMount => ({
    source: m.source,
    target: m.target ?? m.source,
    readOnly: m.readOnly,
    propagation: m.propagation,
  }));

export type SlotMountInput = z.input<typeof mountSchema>;

/** The list, with targets unique: two mounts on one path would hide one of them. */
export const mountsSchema = z.array(mountSchema).superRefine((mounts, context) => {
  const seen = new Set<string>();
  mounts.forEach((m, index) => {
    if (seen.has(m.target))
      context.addIssue({
        code: 'custom',
        path: [index, 'target'],
        message: `a target no other mount has (${m.target} twice)`,
      });
    seen.add(m.target);
  });
});

/**
 * `--mount SOURCE[:TARGET][:OPTIONS]`, OPTIONS a comma list of ro|rw and rslave|rprivate: `/cvmfs`,
 * `/data/site:/site:rw`, `/cvmfs/alice.cern.ch::rprivate`. Returns the raw entry for the schema to check.
 */
export function mountOf(text: string, flag = '--mount'): SlotMountInput {
  const parts = text.split(':');
  const bad = () =>
    new PilotError('E_BAD_OPTION', `${flag}: expected SOURCE[:TARGET][:ro|rw,rslave|rprivate], got "${text}"`);
  if (parts.length > 3 || !parts[0]) throw bad();
  const [source, target, options] = parts as [string, string?, string?];
  const entry: SlotMountInput = { source, ...(target ? { target } : {}) };
  for (const option of options ? options.split(',') : []) {
    if (option === 'ro' || option === 'rw') entry.readOnly = option === 'ro';
    else if (option === 'rslave' || option === 'rprivate') entry.propagation = option;
    else throw bad();
  }
  return entry;
}

/** The container paths a slot's own files are at: no mount may be one of them, inside one, or hold one. */
export function checkMountTargets(mounts: readonly SlotMount[], reserved: readonly string[]): string | undefined {
  for (const [index, mount] of mounts.entries()) {
    const clash = reserved.find((r) => isWithin(mount.target, r) || isWithin(r, mount.target));
    if (clash)
      return `mounts.${index}.target: expected a path apart from the slot's own ${clash} (got ${mount.target})`;
  }
  return undefined;
}
