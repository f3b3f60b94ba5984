import type { ContainerCreateOptions } from 'dockerode';
import type { PilotOptions } from './options.js';
import { ENTRYPOINT } from './render.js';

/** How one pilot container is made; the factory and `docker-cernvm-pilot run` both build it from this. */
export interface PilotContainerSpec {
  name: string;
  image: string;
  /** The rendered pilot directory on the host, mounted at options.pilotDir. */
  hostPilotDir: string;
  /** The pool token on the host, mounted read-only at options.tokenFile. */
  hostTokenFile: string;
  options: Pick<PilotOptions, 'pilotDir' | 'tokenFile' | 'network'>;
  memoryMb?: number;
  cpuset?: string;
  labels?: Readonly<Record<string, string>>;
}

/**
 * The Engine API body for a pilot container. The token reaches it only as a read-only file mount: never in Env,
 * Labels or Cmd, so `docker inspect` never shows it. Docker's init runs as PID 1 and forwards signals to the
 * entrypoint; slots are never privileged and never get the Docker socket.
 */
export function pilotContainerOptions(spec: PilotContainerSpec): ContainerCreateOptions {
  const { pilotDir, tokenFile, network } = spec.options;
  return {
    name: spec.name,
    Image: spec.image,
    Cmd: [`${pilotDir}/${ENTRYPOINT}`],
    Labels: { ...spec.labels },
    StopSignal: 'SIGTERM',
    HostConfig: {
      Init: true,
      NetworkMode: network.mode === 'host' ? 'host' : 'bridge',
      Binds: [`${spec.hostPilotDir}:${pilotDir}`, `${spec.hostTokenFile}:${tokenFile}:ro`],
      Privileged: false,
      ...(spec.memoryMb ? { Memory: spec.memoryMb * 1024 * 1024, MemorySwap: spec.memoryMb * 1024 * 1024 } : {}),
      ...(spec.cpuset ? { CpusetCpus: spec.cpuset } : {}),
    },
  };
}
