import type Dockerode from 'dockerode';
import { docker, engineIsPodman, execIn } from './engine.js';

/** Capability names by their bit in a /proc/<pid>/status mask (linux/capability.h). */
const CAPABILITY_BITS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
] as const;

/** Capability names without the CAP_ prefix some engines store, sorted. */
const capabilityNames = (caps: readonly string[] | null | undefined): string[] =>
  (caps ?? []).map((c) => c.replace(/^CAP_/, '')).sort();

/** The names in a hexadecimal capability mask as /proc/<pid>/status shows it (CapEff, CapBnd), sorted. */
function capabilitiesOfMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  const names: string[] = [];
  for (let bit = 0; bit < 64; bit++) {
    if ((mask >> BigInt(bit)) & 1n) names.push(CAPABILITY_BITS[bit] ?? `bit ${bit}`);
  }
  return names.sort();
}

/**
 * The capabilities a container keeps, as its engine says. Docker's inspect shows what was asked (CapDrop ALL, then
 * CapAdd); podman's compatible inspect shows only the difference from its own default set, so there its own (libpod)
 * inspect's bounding set is read.
 */
export async function keptCapabilities(container: Dockerode.Container): Promise<string[]> {
  if (await engineIsPodman()) {
    const info = await new Promise<{ BoundingCaps?: string[] }>((resolve, reject) =>
      docker.modem.dial(
        { path: `/v4.0.0/libpod/containers/${container.id}/json`, method: 'GET', statusCodes: { 200: true } },
        (error, data) => (error ? reject(error) : resolve(data as { BoundingCaps?: string[] })),
      ),
    );
    return capabilityNames(info.BoundingCaps);
  }
  const { HostConfig } = await container.inspect();
  const dropped = capabilityNames(HostConfig.CapDrop);
  if (dropped.join() !== 'ALL')
    throw new Error(`CapDrop is [${dropped.join(', ')}], not [ALL]: the container keeps Docker's defaults`);
  return capabilityNames(HostConfig.CapAdd);
}

/** The fields of /proc/<pid>/status that say what a process may do. */
export interface ProcessPrivileges {
  capEff: string[];
  capBnd: string[];
  noNewPrivs: number;
  seccomp: number;
}

/** Those fields of `/proc/<pid>/status` in a container (as uid 0: an image may have no passwd to find root in). */
export async function processPrivileges(
  container: Dockerode.Container,
  pid: number | 'self',
): Promise<ProcessPrivileges> {
  const { exitCode, output } = await execIn(container, ['cat', `/proc/${pid}/status`], '0');
  if (exitCode !== 0) throw new Error(`cannot read /proc/${pid}/status in the container: ${output}`);
  const field = (name: string) => {
    const value = new RegExp(`^${name}:\\s*(\\S+)$`, 'm').exec(output)?.[1];
    if (value === undefined) throw new Error(`no ${name} in /proc/${pid}/status:\n${output}`);
    return value;
  };
  return {
    capEff: capabilitiesOfMask(field('CapEff')),
    capBnd: capabilitiesOfMask(field('CapBnd')),
    noNewPrivs: Number(field('NoNewPrivs')),
    seccomp: Number(field('Seccomp')),
  };
}

/** Appends to `file` in the container as uid 0: 'written', or the shell's error (a read-only mount's, say). */
export async function tryWrite(container: Dockerode.Container, file: string): Promise<string> {
  const { exitCode, output } = await execIn(container, ['sh', '-c', 'echo >>"$1"', 'sh', file], '0');
  return exitCode === 0 ? 'written' : output.trim();
}
