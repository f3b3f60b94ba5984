import type { ContainerCreateOptions } from 'dockerode';
import type { MountSettings } from 'dockerode';
import { PilotError } from './errors.js';
import type { PilotOptions } from './options.js';
import { ENTRYPOINT, STATUS_DIR } from './render.js';

/** How one pilot container is made; the factory and `docker-cernvm-pilot run` both build it from this. */
export interface PilotContainerSpec {
  name: string;
  image: string;
  /** The rendered pilot directory on the host, mounted at options.pilotDir. */
  hostPilotDir: string;
  /** The pool token on the host, mounted read-only at options.tokenFile. */
  hostTokenFile: string;
  /**
   * Instead of the file: a host directory holding a copy of the token under options.tokenFile's name, mounted
   * read-only as its directory, so a copy replaced there (a rotated token) reaches the running slot.
   */
  hostTokenDir?: string;
  /** The slot's scratch directory on the host, mounted read-write at options.executeDir (HTCondor's EXECUTE). */
  hostScratchDir?: string;
  options: Pick<PilotOptions, 'pilotDir' | 'tokenFile' | 'network' | 'executeDir' | 'mounts'>;
  memoryMb?: number;
  cpuset?: string;
  /** The most processes and threads the slot may hold at once (the engine's PidsLimit); unset: no limit. */
  pidsLimit?: number;
  labels?: Readonly<Record<string, string>>;
}

/**
 * The capabilities a slot keeps, all others dropped. HTCondor runs as root in the slot and its starter runs each job
 * as another user: without CHOWN or SETUID no job runs. SETGID takes root's group from the job, KILL lets the starter
 * end a job it evicts, DAC_OVERRIDE and FOWNER let it clean a sandbox the job locked (docs/security.md).
 */
export const SLOT_CAPABILITIES: readonly string[] = ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'KILL', 'SETGID', 'SETUID'];

/** The Engine API's default PidsLimit for a slot: room for a large job's threads, not for a fork bomb's. */
export const DEFAULT_PIDS_LIMIT = 4096;
/** The kernel's own ceiling on a system's pids (pid_max on 64-bit): a larger limit is a typo. */
export const MAX_PIDS_LIMIT = 4_194_304;

/**
 * The Engine API body for a pilot container. The token reaches it only as a read-only file mount: never in Env,
 * Labels or Cmd, so `docker inspect` never shows it. Docker's init runs as PID 1 and forwards signals to the
 * entrypoint; slots are never privileged and never get the Docker socket. The engine's default seccomp profile
 * stays (no SecurityOpt names another), no process gains privileges by exec, and /pilot is read-only but for the
 * status directory the entrypoint writes its heartbeat into.
 */
export function pilotContainerOptions(spec: PilotContainerSpec): ContainerCreateOptions {
  const { pilotDir, tokenFile, network, executeDir, mounts } = spec.options;
  if ((spec.hostScratchDir === undefined) !== (executeDir === undefined)) {
    throw new PilotError('E_BAD_OPTION', 'a scratch directory needs both the host directory and options.executeDir');
  }
  // Mounts, not Binds: Docker then refuses a source that does not exist instead of creating it empty, and takes the
  // propagation as a field. Read-only covers the bound directory; a file system mounted under it later keeps its own.
  const extra: MountSettings[] = mounts.map((m) => ({
    Type: 'bind',
    Source: m.source,
    Target: m.target,
    ReadOnly: m.readOnly,
    BindOptions: { Propagation: m.propagation },
  }));
  const tokenDir = tokenFile.slice(0, tokenFile.lastIndexOf('/')) || '/';
  const tokenBind = spec.hostTokenDir ? `${spec.hostTokenDir}:${tokenDir}:ro` : `${spec.hostTokenFile}:${tokenFile}:ro`;
  // The scratch directory is a Bind like /pilot (both made by us, so both exist): as a Mount with rprivate, Docker
  // refuses any source whose path merely starts with its root's (/var/lib/docker-cernvm/… "is within" /var/lib/docker).
  const scratchBind = spec.hostScratchDir && executeDir ? [`${spec.hostScratchDir}:${executeDir}`] : [];
  return {
    name: spec.name,
    Image: spec.image,
    Cmd: [`${pilotDir}/${ENTRYPOINT}`],
    Labels: { ...spec.labels },
    StopSignal: 'SIGTERM',
    HostConfig: {
      Init: true,
      NetworkMode: network.mode === 'host' ? 'host' : 'bridge',
      Binds: [
        `${spec.hostPilotDir}:${pilotDir}:ro`,
        `${spec.hostPilotDir}/${STATUS_DIR}:${pilotDir}/${STATUS_DIR}`,
        tokenBind,
        ...scratchBind,
      ],
      ...(extra.length ? { Mounts: extra } : {}),
      Privileged: false,
      CapDrop: ['ALL'],
      CapAdd: [...SLOT_CAPABILITIES],
      SecurityOpt: ['no-new-privileges'],
      ...(spec.pidsLimit ? { PidsLimit: spec.pidsLimit } : {}),
      ...(spec.memoryMb ? { Memory: spec.memoryMb * 1024 * 1024, MemorySwap: spec.memoryMb * 1024 * 1024 } : {}),
      ...(spec.cpuset ? { CpusetCpus: spec.cpuset } : {}),
    },
  };
}
